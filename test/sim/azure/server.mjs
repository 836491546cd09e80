// @ts-check
/**
 * A stateful Azure simulator for wp's ACI provisioner: Entra ID token endpoint, Azure Resource Manager
 * (subscriptions, resource groups, role definitions/assignments, permissions, container registries with
 * an async create, user-assigned identities), Microsoft Graph v1.0 (applications, servicePrincipals,
 * addPassword/removePassword, authorization policy, directory role assignments) and the ACR token
 * exchange, all on one loopback HTTPS port with a certificate made when it starts (see cert.mjs).
 *
 * Plain ESM JavaScript (no build step, so `npm run sim:azure` works from a clean clone), type-checked
 * with JSDoc + checkJs (`npx tsc -p test/sim/azure`, run by test/aci/sim.test.ts) against server.d.mts,
 * which also gives the TypeScript tests their types.
 *
 * Wire behaviour follows ../shared/reference/cloud-api-contracts.md §3: ARM's error envelope
 * `{"error":{"code","message"}}`, case-insensitive paths with `//` collapsed, a required and checked
 * `api-version`, 201 on create / 200 on replace, `Azure-AsyncOperation` + `Location` + `Retry-After`
 * (absolute, self-pointing) on the registry create, Graph's error envelope with `innerError`, no
 * uniqueness of app display names, 409 on a duplicate service principal, and optional replication lag
 * (a new app or principal is not visible to the next calls at once).
 */
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { rmSync } from "node:fs";
import { createServer } from "node:https";
import { performance } from "node:perf_hooks";
import { makeCertificate } from "./cert.mjs";
import {
  appPolicyRefusal,
  FAULT_NAMES,
  failedContainerGroup,
  pageOf,
  policyDenial,
  realismOf,
  throttled,
} from "./realism.mjs";

export const ROLE_IDS = {
  Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
  AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
  Owner: "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
  "User Access Administrator": "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
  Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
};

/** Actions of the built-in roles the simulator knows (abridged to what matters here). */
const ROLE_PERMISSIONS = {
  Contributor: {
    actions: ["*"],
    notActions: [
      "Microsoft.Authorization/*/Delete",
      "Microsoft.Authorization/*/Write",
      "Microsoft.Authorization/elevateAccess/Action",
    ],
  },
  Owner: { actions: ["*"], notActions: [] },
  "User Access Administrator": { actions: ["*/read", "Microsoft.Authorization/*"], notActions: [] },
  AcrPull: { actions: ["Microsoft.ContainerRegistry/registries/pull/read"], notActions: [] },
  Reader: { actions: ["*/read"], notActions: [] },
};

/** The api-versions each resource provider accepts (wp's SDK pins send exactly these). */
const API_VERSIONS = {
  subscriptions: ["2022-12-01"],
  resources: ["2025-04-01", "2024-03-01", "2021-04-01"],
  authorization: ["2022-04-01"],
  containerregistry: ["2025-11-01", "2025-04-01", "2023-07-01"],
  managedidentity: ["2024-11-30", "2023-01-31"],
  containerinstance: ["2023-05-01", "2022-09-01"],
};

const b64url = (/** @type {string | Buffer} */ s) => Buffer.from(s).toString("base64url");

/**
 * @param {import("./server.d.mts").SimOptions} [options]
 * @returns {Promise<import("./server.d.mts").AzureSim>}
 */
export async function startAzureSim(options = {}) {
  const cert = options.cert ?? (await makeCertificate());
  const startedAt = performance.now();
  const tenantId = options.tenantId ?? "72f988bf-86f1-41af-91ab-2d7cd011db47";
  const callerObjectId = options.callerObjectId ?? "5b3b1a6e-0c8d-4c61-9d8e-0d6f2b0c1a11";

  /** @type {import("./server.d.mts").SimState} */
  const state = {
    tenantId,
    subscriptions: (
      options.subscriptions ?? [{ id: "00000000-1111-2222-3333-444444444444", name: "Sim Subscription" }]
    ).map((s) => ({ subscriptionId: s.id, displayName: s.name, tenantId, state: "Enabled" })),
    caller: {
      clientId: options.callerClientId ?? "11111111-2222-3333-4444-555555555555",
      clientSecret: options.callerClientSecret ?? "sim-caller-secret-0123456789",
      objectId: callerObjectId,
      graphRoles: options.graphRoles ?? ["Application.ReadWrite.All"],
      armRoles: options.armRoles ?? ["Owner"],
    },
    allowedToCreateApps: options.allowedToCreateApps ?? true,
    resourceGroups: [],
    applications: [],
    servicePrincipals: [],
    roleAssignments: [],
    registries: [],
    identities: [],
    containerGroups: [],
    providers: Object.fromEntries(
      ["Microsoft.ContainerRegistry", "Microsoft.ManagedIdentity", "Microsoft.ContainerInstance"].map((ns) => [
        ns,
        (options.unregisteredProviders ?? []).includes(ns) ? "NotRegistered" : "Registered",
      ]),
    ),
    operations: new Map(),
    acrRepositories: {},
    log: [],
  };
  // The caller's own role assignments at subscription scope (what gives it its ARM rights).
  for (const sub of state.subscriptions)
    for (const role of state.caller.armRoles) {
      state.roleAssignments.push(
        assignment(`/subscriptions/${sub.subscriptionId}`, role, callerObjectId, "ServicePrincipal"),
      );
    }

  /** @type {import("./server.d.mts").AzureSim["faults"]} */
  const faults = {
    fail: undefined,
    failAfter: undefined,
    principalLag: options.principalLag ?? 0,
    graphLag: options.graphLag ?? 0,
    registryPolls: options.registryPolls ?? 2,
    latencyMs: options.latencyMs ?? 0,
    holdContainerGroups: false,
    ...realismOf(options.realistic),
    active: new Set(options.faultsOn ?? []),
    on: (name) => {
      if (!FAULT_NAMES.includes(name)) throw new Error(`unknown fault ${name}`);
      faults.active.add(name);
      // Every group there is starts being deleted (as by another actor's delete).
      if (name === "resourceGroupBeingDeleted") for (const g of state.resourceGroups) beginGroupDelete(g);
    },
    off: (name) => {
      faults.active.delete(name);
    },
  };
  const now = () => performance.now();
  /** When each role assignment, client secret and app was made (ms since start): the realistic lags count from it. */
  const madeAt = new Map();
  /** Whether what `key` names (unknown: made before the simulator started) is older than `lag` ms. */
  const settled = (/** @type {string} */ key, /** @type {number} */ lag) => {
    const at = madeAt.get(key);
    return at === undefined || now() >= at + lag;
  };
  /** Resources deleted lately, which the group's cached listing still shows (realistic mode). @type {Array<{ view: any, at: number }>} */
  const ghosts = [];
  const ghost = (/** @type {any} */ x) => {
    if (faults.lags.listing > 0)
      ghosts.push({ view: { id: x.id, name: x.name, type: x.type, location: x.location, tags: x.tags }, at: now() });
  };
  /** Groups being deleted: id → when the delete ends. @type {Map<string, number>} */
  const deleting = new Map();
  const beginGroupDelete = (/** @type {any} */ g) => {
    g.properties.provisioningState = "Deleting";
    deleting.set(g.id.toLowerCase(), now() + Math.max(faults.lags.groupDelete, 200));
  };
  /** Finishes the deletes whose time has come. */
  const settleDeletes = () => {
    for (const [id, end] of deleting) {
      if (end > now()) continue;
      deleting.delete(id);
      const group = state.resourceGroups.find((g) => g.id.toLowerCase() === id);
      if (group) removeGroup(group);
    }
  };
  let apiRequests = 0;
  /** Principal ids → how many more role-assignment attempts fail with PrincipalNotFound. */
  const lagging = new Map();
  /** App appIds/object ids → how many more Graph calls see them as missing. */
  const graphLagging = new Map();
  /** @type {Set<string>} */
  const tokens = new Set();
  /** The request being answered (arm() reads who calls from its bearer token). @type {import("node:http").IncomingMessage | undefined} */
  let currentRequest;
  /** The object id in a request's bearer token (the simulator issued it; its claims are its own). */
  const principalOf = (/** @type {import("node:http").IncomingMessage | undefined} */ r) => {
    const token = (r?.headers.authorization ?? "").replace(/^Bearer /, "");
    try {
      return String(JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8")).oid ?? "");
    } catch {
      return "";
    }
  };
  /** ACR access tokens → the login server they are for. @type {Map<string, string>} */
  const acrTokens = new Map();
  /** ACR refresh tokens → the login server they are for. @type {Map<string, string>} */
  const acrRefresh = new Map();

  const server = createServer({ key: cert.key, cert: cert.cert }, (req, res) => {
    const chunks = /** @type {Buffer[]} */ ([]);
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      const run = () => {
        try {
          handle(req, res, raw);
        } catch (err) {
          send(res, 500, { error: { code: "InternalServerError", message: String(err) } });
        }
      };
      if (faults.latencyMs > 0) setTimeout(run, faults.latencyMs);
      else run();
    });
  });
  await new Promise((resolve) => server.listen(options.port ?? 0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const url = `https://127.0.0.1:${port}`;

  /**
   * @param {import("node:http").ServerResponse} res
   * @param {number} status
   * @param {unknown} [body]
   * @param {Record<string, string>} [headers]
   */
  function send(res, status, body, headers = {}) {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { "content-type": "application/json; charset=utf-8" }),
      "x-ms-request-id": randomUUID(),
      ...headers,
    });
    res.end(text);
  }

  /** ARM's error envelope. */
  const armError = (/** @type {string} */ code, /** @type {string} */ message) => ({ error: { code, message } });
  /** Graph's error envelope. */
  const graphError = (/** @type {string} */ code, /** @type {string} */ message) => ({
    error: { code, message, innerError: { date: new Date().toISOString(), "request-id": randomUUID() } },
  });

  /**
   * @param {string} scope
   * @param {string} role
   * @param {string} principalId
   * @param {string} principalType
   * @param {string} [name]
   */
  function assignment(scope, role, principalId, principalType, name = randomUUID()) {
    const sub = scope.split("/")[2] ?? "";
    return {
      id: `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`,
      name,
      type: "Microsoft.Authorization/roleAssignments",
      properties: {
        roleDefinitionId: `/subscriptions/${sub}/providers/Microsoft.Authorization/roleDefinitions/${ROLE_IDS[/** @type {keyof typeof ROLE_IDS} */ (role)] ?? role}`,
        principalId,
        principalType,
        scope,
        createdOn: new Date().toISOString(),
        updatedOn: new Date().toISOString(),
        createdBy: callerObjectId,
        updatedBy: callerObjectId,
        condition: null,
      },
    };
  }

  /** A fake JWT whose claims say who the caller is (wp reads claims for its preflight, never verifies). */
  function issueToken(/** @type {string} */ scope, /** @type {string} */ clientId) {
    const app = state.applications.find((a) => a.appId === clientId);
    const sp = app && state.servicePrincipals.find((s) => s.appId === clientId);
    const oid = clientId === state.caller.clientId ? state.caller.objectId : (sp?.id ?? randomUUID());
    const aud = scope.replace(/\/\.default$/, "");
    const claims = {
      aud,
      iss: `${url}/${tenantId}/v2.0`,
      tid: tenantId,
      oid,
      appid: clientId,
      idtyp: options.delegatedUser && clientId === state.caller.clientId ? "user" : "app",
      // A signed-in user's token carries delegated scopes (scp); an app's, application roles.
      ...(clientId === state.caller.clientId && /graph/i.test(aud)
        ? options.delegatedUser
          ? { scp: "Application.ReadWrite.All User.Read" }
          : { roles: state.caller.graphRoles }
        : {}),
      exp: Math.floor(Date.now() / 1000) + 3600,
    };
    const token = `${b64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${b64url(JSON.stringify(claims))}.${b64url(randomBytes(16))}`;
    tokens.add(token);
    return token;
  }

  /**
   * @param {import("node:http").IncomingMessage} req
   * @param {import("node:http").ServerResponse} res
   * @param {string} raw
   */
  function handle(req, res, raw) {
    // Collapse `//` before parsing: a leading "//x" would otherwise read as a host name.
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const u = new URL(
      `${(q < 0 ? target : target.slice(0, q)).replace(/\/{2,}/g, "/")}${q < 0 ? "" : target.slice(q)}`,
      url,
    );
    const path = u.pathname.replace(/\/{2,}/g, "/").replace(/\/$/, "") || "/";
    const lower = path.toLowerCase();
    const method = req.method ?? "GET";
    /** @type {unknown} */
    let body;
    const form = (req.headers["content-type"] ?? "").includes("x-www-form-urlencoded");
    if (raw && !form) {
      try {
        body = JSON.parse(raw);
      } catch {
        body = raw;
      }
    }
    const entry = {
      method,
      path,
      query: Object.fromEntries(u.searchParams),
      // Form bodies (token requests) carry secrets: only their field names are kept.
      body: form ? Object.fromEntries([...new URLSearchParams(raw).keys()].map((k) => [k, "…"])) : body,
      mutating: false,
      status: 0,
      /** ms since the simulator started. */
      at: Math.round(performance.now() - startedAt),
    };
    state.log.push(entry);
    // failAfter: the request takes effect, but its answer is replaced by the error (a lost response).
    const lost = faults.failAfter?.({ method, path, query: entry.query, body });
    const reply = (
      /** @type {number} */ status,
      /** @type {unknown} */ b,
      /** @type {Record<string,string>} */ h = {},
    ) => {
      if (lost) {
        entry.status = lost.status;
        const envelope = path.toLowerCase().startsWith("/graph/") ? graphError : armError;
        return send(res, lost.status, envelope(lost.code, lost.message ?? lost.code));
      }
      entry.status = status;
      // Realistic: every list pages (ARM nextLink, Graph @odata.nextLink).
      const list = /** @type {any} */ (b);
      if (faults.pageSize > 0 && method === "GET" && status === 200 && Array.isArray(list?.value))
        return send(res, status, pageOf(list, u, faults.pageSize, lower.startsWith("/graph/") ? "graph" : "arm"), h);
      send(res, status, b, h);
    };
    settleDeletes();

    const injected = faults.fail?.({ method, path, query: entry.query, body });
    if (injected) {
      const envelope = lower.startsWith("/graph/") ? graphError : armError;
      /** @type {Record<string, string>} */
      const headers = injected.retryAfter !== undefined ? { "retry-after": String(injected.retryAfter) } : {};
      return reply(injected.status, envelope(injected.code, injected.message ?? injected.code), headers);
    }

    // ---- Entra ID (authority host) ----
    let m = lower.match(/^\/([^/]+)\/v2\.0\/\.well-known\/openid-configuration$/);
    if (m && method === "GET") {
      const t = m[1];
      return reply(200, {
        token_endpoint: `${url}/${t}/oauth2/v2.0/token`,
        authorization_endpoint: `${url}/${t}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${url}/${t}/oauth2/v2.0/logout`,
        device_authorization_endpoint: `${url}/${t}/oauth2/v2.0/devicecode`,
        issuer: `${url}/${t}/v2.0`,
        jwks_uri: `${url}/${t}/discovery/v2.0/keys`,
        response_types_supported: ["code", "id_token", "code id_token", "token id_token", "token"],
        scopes_supported: ["openid", "profile", "email", "offline_access"],
      });
    }
    m = lower.match(/^\/([^/]+)\/oauth2\/v2\.0\/token$/);
    if (m && method === "POST") {
      const f = new URLSearchParams(raw);
      const clientId = f.get("client_id") ?? "";
      const secret = f.get("client_secret") ?? "";
      const app = state.applications.find((a) => a.appId === clientId);
      const ok =
        (clientId === state.caller.clientId && secret === state.caller.clientSecret) ||
        (app?.secrets.some((s) => s.secretText === secret && settled(s.keyId, faults.lags.secret)) ?? false);
      if (!ok) {
        return reply(401, {
          error: "invalid_client",
          error_description:
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
          error_codes: [7000215],
          timestamp: new Date().toISOString(),
          trace_id: randomUUID(),
          correlation_id: randomUUID(),
        });
      }
      const scope = (f.get("scope") ?? "").split(" ").find((s) => s.endsWith("/.default")) ?? "";
      return reply(200, {
        token_type: "Bearer",
        expires_in: 3599,
        ext_expires_in: 3599,
        access_token: issueToken(scope, clientId),
      });
    }

    // ---- ACR token exchange (stands in for https://<loginServer>/oauth2/exchange) ----
    if (lower === "/acr/oauth2/exchange" && method === "POST") {
      const f = new URLSearchParams(raw);
      const service = (f.get("service") ?? "").toLowerCase();
      if (f.get("grant_type") !== "access_token" || !tokens.has(f.get("access_token") ?? "")) {
        return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      }
      if (!state.registries.some((r) => r.properties.loginServer === service)) {
        return reply(404, { errors: [{ code: "NAME_UNKNOWN", message: `registry ${service} not found` }] });
      }
      const refresh = `${b64url(JSON.stringify({ alg: "RS256" }))}.${b64url(JSON.stringify({ aud: service, grant_type: "refresh_token", exp: Math.floor(Date.now() / 1000) + 10800 }))}.${b64url(randomBytes(24))}`;
      acrRefresh.set(refresh, service);
      return reply(200, { refresh_token: refresh });
    }
    // ACR access tokens (registry scopes) for a refresh token, and the catalog (data plane).
    if (lower === "/acr/oauth2/token" && method === "POST") {
      const f = new URLSearchParams(raw);
      const service = (f.get("service") ?? "").toLowerCase();
      if (f.get("grant_type") !== "refresh_token" || acrRefresh.get(f.get("refresh_token") ?? "") !== service)
        return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      const access = b64url(randomBytes(24));
      acrTokens.set(access, service);
      return reply(200, { access_token: access });
    }
    if (lower === "/acr/v2/_catalog" && method === "GET") {
      const bearer = (req.headers.authorization ?? "").replace(/^Bearer /, "");
      const service = acrTokens.get(bearer);
      if (!service) return reply(401, { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] });
      // Paged by `n` and `last` with a Link header to the next page (realism.mjs).
      const all = [...(state.acrRepositories[service] ?? [])].sort();
      const last = u.searchParams.get("last");
      const n = Number(u.searchParams.get("n")) || faults.pageSize || all.length || 1;
      const rest = last ? all.filter((r) => r > last) : all;
      const repositories = rest.slice(0, n);
      /** @type {Record<string, string>} */
      const more =
        rest.length > n
          ? { link: `</acr/v2/_catalog?last=${encodeURIComponent(repositories[n - 1] ?? "")}&n=${n}>; rel="next"` }
          : {};
      return reply(200, { repositories }, more);
    }

    // Everything else needs a bearer token this simulator issued.
    const auth = req.headers.authorization ?? "";
    if (!auth.startsWith("Bearer ") || !tokens.has(auth.slice(7))) {
      return lower.startsWith("/graph/")
        ? reply(401, graphError("InvalidAuthenticationToken", "Access token is empty or invalid."))
        : reply(401, armError("InvalidAuthenticationToken", "The access token is invalid."));
    }

    // Throttled or briefly unavailable, with Retry-After (the `throttle` fault).
    apiRequests += 1;
    const busy = faults.active.has("throttle") ? throttled(apiRequests) : undefined;
    if (busy) {
      const envelope = lower.startsWith("/graph/") ? graphError : armError;
      return reply(busy.status, envelope(busy.code, busy.message), { "retry-after": "1" });
    }

    if (lower.startsWith("/graph/v1.0/")) return graph(method, path.slice("/graph/v1.0".length), u, body, entry, reply);
    currentRequest = req;
    return arm(method, path, u, body, entry, reply);
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {URL} u
   * @param {any} body
   * @param {{ mutating: boolean }} entry
   * @param {(status: number, body?: unknown, headers?: Record<string,string>) => void} reply
   */
  function graph(method, path, u, body, entry, reply) {
    const lower = path.toLowerCase();
    const filter = u.searchParams.get("$filter") ?? "";
    const eq = (/** @type {string} */ field) => {
      const mm = filter.match(new RegExp(`^${field} eq '((?:[^']|'')*)'$`, "i"));
      return mm ? (mm[1] ?? "").replace(/''/g, "'") : undefined;
    };
    const visibleApp = (/** @type {any} */ a) => !graphLagging.get(a.id);
    const appView = (/** @type {any} */ a) => ({
      id: a.id,
      appId: a.appId,
      displayName: a.displayName,
      description: a.description ?? null,
      notes: a.notes ?? null,
      tags: a.tags,
      signInAudience: "AzureADMyOrg",
      createdDateTime: a.createdDateTime,
      passwordCredentials: a.secrets.map((/** @type {any} */ s) => ({
        customKeyIdentifier: null,
        displayName: s.displayName,
        endDateTime: s.endDateTime,
        hint: s.hint,
        keyId: s.keyId,
        secretText: null,
        startDateTime: s.startDateTime,
      })),
    });
    const lag = (/** @type {string} */ id) => {
      const n = graphLagging.get(id) ?? 0;
      if (n > 0) graphLagging.set(id, n - 1);
      return n > 0;
    };

    if (lower === "/applications" && method === "GET") {
      const name = eq("displayName");
      const appId = eq("appId");
      const value = state.applications
        .filter((a) => (name === undefined || a.displayName === name) && (appId === undefined || a.appId === appId))
        .map(appView);
      return reply(200, { "@odata.context": `${url}/graph/v1.0/$metadata#applications`, value });
    }
    if (lower === "/applications" && method === "POST") {
      if (!canCreateApps())
        return reply(
          403,
          graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
        );
      if (typeof body?.displayName !== "string" || !body.displayName)
        return reply(
          400,
          graphError(
            "Request_BadRequest",
            "Invalid value specified for property 'displayName' of resource 'Application'.",
          ),
        );
      if (body.passwordCredentials)
        return reply(400, graphError("Request_BadRequest", "Property 'passwordCredentials' is read-only on create."));
      entry.mutating = true;
      const app = {
        id: randomUUID(),
        appId: randomUUID(),
        displayName: body.displayName,
        description: body.description,
        notes: body.notes,
        tags: Array.isArray(body.tags) ? body.tags : [],
        createdDateTime: new Date().toISOString(),
        secrets: /** @type {any[]} */ ([]),
      };
      state.applications.push(app);
      madeAt.set(app.id, now());
      if (faults.graphLag > 0) {
        graphLagging.set(app.id, faults.graphLag);
        graphLagging.set(app.appId, faults.graphLag);
      }
      return reply(201, { "@odata.context": `${url}/graph/v1.0/$metadata#applications/$entity`, ...appView(app) });
    }
    let m = lower.match(/^\/applications\/([^/]+)(?:\/(addpassword|removepassword))?$/);
    if (m) {
      const app = state.applications.find((a) => a.id === m?.[1]);
      if (!app || (m[2] && lag(app.id)) || (!m[2] && !visibleApp(app) && lag(app.id))) {
        return reply(
          404,
          graphError(
            "Request_ResourceNotFound",
            `Resource '${m[1]}' does not exist or one of its queried reference-property objects are not present.`,
          ),
        );
      }
      if (!m[2] && method === "GET") return reply(200, appView(app));
      if (!m[2] && method === "DELETE") {
        // Deleting the app registration deletes its service principal (and with the app, its secrets).
        entry.mutating = true;
        state.applications = state.applications.filter((a) => a.id !== app.id);
        state.servicePrincipals = state.servicePrincipals.filter((sp) => sp.appId !== app.appId);
        return reply(204);
      }
      if (m[2] === "addpassword" && method === "POST") {
        if (!canCreateApps())
          return reply(
            403,
            graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
          );
        // A tenant app management policy that blocks or caps client secrets (realism.mjs).
        if (faults.active.has("passwordAddition")) return reply(400, appPolicyRefusal("passwordAddition"));
        if (faults.active.has("passwordLifetime")) return reply(400, appPolicyRefusal("passwordLifetime"));
        entry.mutating = true;
        const secretText = `${randomBytes(3).toString("base64url").slice(0, 3)}8Q~${randomBytes(27).toString("base64url")}`;
        const start = new Date();
        const end =
          body?.passwordCredential?.endDateTime ?? new Date(start.getTime() + 2 * 365 * 86400_000).toISOString();
        const s = {
          keyId: randomUUID(),
          displayName: body?.passwordCredential?.displayName ?? null,
          hint: secretText.slice(0, 3),
          startDateTime: start.toISOString(),
          endDateTime: end,
          secretText,
        };
        app.secrets.push(s);
        madeAt.set(s.keyId, now());
        return reply(200, {
          "@odata.context": `${url}/graph/v1.0/$metadata#microsoft.graph.passwordCredential`,
          customKeyIdentifier: null,
          ...s,
        });
      }
      if (m[2] === "removepassword" && method === "POST") {
        entry.mutating = true;
        const before = app.secrets.length;
        app.secrets = app.secrets.filter((s) => s.keyId !== body?.keyId);
        if (app.secrets.length === before)
          return reply(
            400,
            graphError("Request_BadRequest", `No password credential found with keyId '${body?.keyId}'.`),
          );
        return reply(204);
      }
    }
    if (lower === "/serviceprincipals" && method === "GET") {
      const appId = eq("appId");
      const value = state.servicePrincipals.filter((s) => appId === undefined || s.appId === appId);
      return reply(200, { "@odata.context": `${url}/graph/v1.0/$metadata#servicePrincipals`, value });
    }
    if (lower === "/serviceprincipals" && method === "POST") {
      const app = state.applications.find((a) => a.appId === body?.appId);
      if (!app || lag(app.appId)) {
        return reply(400, {
          error: {
            code: "Request_BadRequest",
            message: `The appId '${body?.appId}' of the service principal does not reference a valid application object.`,
            details: [{ code: "NoBackingApplicationObject", target: "appId" }],
            innerError: { date: new Date().toISOString(), "request-id": randomUUID() },
          },
        });
      }
      // The service principal of a brand-new app: refused until the app has replicated (realism.mjs).
      if (!settled(app.id, faults.lags.servicePrincipal))
        return reply(
          403,
          graphError("Authorization_RequestDenied", "Insufficient privileges to complete the operation."),
        );
      if (state.servicePrincipals.some((s) => s.appId === app.appId)) {
        return reply(
          409,
          graphError(
            "Request_MultipleObjectsWithSameKeyValue",
            `The service principal cannot be created, updated, or restored because the service principal name ${app.appId} is already in use.`,
          ),
        );
      }
      entry.mutating = true;
      const sp = {
        id: randomUUID(),
        appId: app.appId,
        appDisplayName: app.displayName,
        displayName: app.displayName,
        servicePrincipalNames: [app.appId],
        accountEnabled: true,
        servicePrincipalType: "Application",
      };
      state.servicePrincipals.push(sp);
      if (faults.principalLag > 0) lagging.set(sp.id, faults.principalLag);
      return reply(201, { "@odata.context": `${url}/graph/v1.0/$metadata#servicePrincipals/$entity`, ...sp });
    }
    if (lower === "/policies/authorizationpolicy" && method === "GET") {
      return reply(200, {
        id: "authorizationPolicy",
        displayName: "Authorization Policy",
        defaultUserRolePermissions: {
          allowedToCreateApps: state.allowedToCreateApps,
          allowedToCreateSecurityGroups: true,
        },
      });
    }
    if (lower === "/organization" && method === "GET") {
      return reply(200, { value: [{ id: tenantId, displayName: "Sim Tenant" }] });
    }
    // A user's memberships, through groups too: a directory role assigned to a (role-assignable) group the user
    // is in shows here (https://learn.microsoft.com/graph/api/user-list-transitivememberof; the beta
    // transitiveRoleAssignments lists the same, https://learn.microsoft.com/graph/api/rbacapplication-list-transitiveroleassignments).
    m = lower.match(/^\/users\/([^/]+)\/transitivememberof$/);
    if (m && method === "GET") {
      const viaGroup = m[1] === state.caller.objectId.toLowerCase() ? (options.directoryRolesViaGroup ?? []) : [];
      return reply(200, {
        value: [
          ...(viaGroup.length
            ? [{ "@odata.type": "#microsoft.graph.group", id: randomUUID(), displayName: "App admins" }]
            : []),
          ...viaGroup.map((t) => ({
            "@odata.type": "#microsoft.graph.directoryRole",
            id: randomUUID(),
            displayName: "Directory role",
            roleTemplateId: t,
          })),
        ],
      });
    }
    m = lower.match(/^\/roleManagement\/directory\/roleAssignments$/i);
    if (m && method === "GET") return reply(200, { value: [] });
    return reply(
      404,
      graphError("Request_ResourceNotFound", `Resource not found for the segment '${path.split("/")[1] ?? ""}'.`),
    );
  }

  function canCreateApps() {
    return (
      state.caller.graphRoles.includes("Application.ReadWrite.All") ||
      state.caller.graphRoles.includes("Application.ReadWrite.OwnedBy")
    );
  }

  /** Effective ARM actions of the caller (or another principal) at `scope` (assignments at that scope or above). */
  function callerMay(/** @type {string} */ scope, /** @type {string} */ action, principal = state.caller.objectId) {
    const perms = permissionsAt(scope, principal);
    const matches = (/** @type {string} */ pattern) =>
      new RegExp(
        `^${pattern
          .split("*")
          .map((p) => p.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
          .join(".*")}$`,
        "i",
      ).test(action);
    return perms.some((p) => p.actions.some(matches) && !p.notActions.some(matches));
  }
  function permissionsAt(/** @type {string} */ scope, principal = state.caller.objectId) {
    const s = scope.toLowerCase();
    return state.roleAssignments
      .filter(
        (a) =>
          a.properties.principalId === principal &&
          (s === a.properties.scope.toLowerCase() || s.startsWith(`${a.properties.scope.toLowerCase()}/`)) &&
          // A new assignment is honoured only once the RBAC caches have it (realism.mjs).
          settled(a.id, faults.lags.role),
      )
      .map((a) => {
        const name = Object.entries(ROLE_IDS).find(([, id]) =>
          a.properties.roleDefinitionId.toLowerCase().endsWith(id),
        )?.[0];
        return (
          ROLE_PERMISSIONS[/** @type {keyof typeof ROLE_PERMISSIONS} */ (name ?? "Reader")] ?? {
            actions: [],
            notActions: [],
          }
        );
      });
  }

  /**
   * @param {string} method
   * @param {string} path
   * @param {URL} u
   * @param {any} body
   * @param {{ mutating: boolean }} entry
   * @param {(status: number, body?: unknown, headers?: Record<string,string>) => void} reply
   */
  function arm(method, path, u, body, entry, reply) {
    const lower = path.toLowerCase();
    const apiVersion = u.searchParams.get("api-version");
    const provider = /^\/subscriptions\/[^/]+\/providers\/[^/]+(\/register)?$/.test(lower)
      ? "resources"
      : lower.includes("/providers/microsoft.authorization/")
        ? "authorization"
        : lower.includes("/providers/microsoft.containerregistry")
          ? "containerregistry"
          : lower.includes("/providers/microsoft.managedidentity/")
            ? "managedidentity"
            : lower.includes("/providers/microsoft.containerinstance/")
              ? "containerinstance"
              : lower.startsWith("/sim/operations/")
                ? "containerregistry"
                : /^\/subscriptions(\/[^/]+)?$/.test(lower)
                  ? "subscriptions"
                  : "resources";
    if (!apiVersion && !lower.startsWith("/sim/operations/"))
      return reply(
        400,
        armError(
          "MissingApiVersionParameter",
          "The api-version query parameter (?api-version=) is required for all requests.",
        ),
      );
    if (!lower.startsWith("/sim/operations/") && !API_VERSIONS[provider].includes(apiVersion ?? "")) {
      return reply(
        400,
        armError(
          "InvalidApiVersionParameter",
          `The api-version '${apiVersion}' is invalid. The supported versions are '${API_VERSIONS[provider].join(",")}'.`,
        ),
      );
    }

    // Azure refuses these characters in tag names (and more than 50 tags).
    if (method === "PUT" && body && typeof body === "object" && body.tags) {
      const bad = Object.keys(body.tags).find((k) => /[<>%&\\?/]/.test(k) || k.length > 512);
      if (bad !== undefined)
        return reply(
          400,
          armError(
            "InvalidTagNameCharacters",
            `The tag names '${bad}' have reserved characters '<,>,%,&,\\,?,/' or control characters.`,
          ),
        );
      if (Object.keys(body.tags).length > 50) return reply(400, armError("InvalidTagCount", "Too many tags."));
    }

    // ---- async operation status ----
    let m = lower.match(/^\/sim\/operations\/([^/]+)$/);
    if (m && method === "GET") {
      const op = state.operations.get(m[1] ?? "");
      if (!op) return reply(404, armError("NotFound", "Operation not found."));
      // A resource group's delete: 202 while it runs, 200 when the group is gone.
      if (op.group)
        return deleting.has(String(op.group).toLowerCase())
          ? reply(202, undefined, { location: `${url}${path}?api-version=${apiVersion}` })
          : reply(200);
      op.polls += 1;
      if (op.polls < faults.registryPolls)
        return reply(200, { id: op.id, status: "InProgress" }, { "retry-after": "0" });
      if (op.fail) {
        op.registry.properties.provisioningState = "Failed";
        return reply(200, {
          id: op.id,
          status: "Failed",
          error: { code: op.fail, message: `The operation failed: ${op.fail}.` },
        });
      }
      op.registry.properties.provisioningState = "Succeeded";
      return reply(200, { id: op.id, status: "Succeeded" });
    }

    // ---- subscriptions ----
    if (lower === "/subscriptions" && method === "GET") {
      return reply(200, { value: state.subscriptions.map(subView) });
    }
    m = lower.match(/^\/subscriptions\/([^/]+)$/);
    if (m && method === "GET") {
      const sub = state.subscriptions.find((s) => s.subscriptionId === m?.[1]);
      return sub
        ? reply(200, subView(sub))
        : reply(404, armError("SubscriptionNotFound", `The subscription '${m[1]}' could not be found.`));
    }
    m = lower.match(/^\/subscriptions\/([^/]+)(\/.*)?$/);
    if (!m) return reply(404, armError("InvalidResourceType", `No route for ${path}.`));
    const subId = m[1] ?? "";
    const sub = state.subscriptions.find((s) => s.subscriptionId === subId);
    if (!sub) return reply(404, armError("SubscriptionNotFound", `The subscription '${subId}' could not be found.`));
    const rest = m[2] ?? "";

    // ---- role definitions / assignments / permissions, at any scope ----
    m = path.match(
      /^(.*)\/providers\/Microsoft\.Authorization\/(roleDefinitions|roleAssignments|permissions)(?:\/([^/]+))?$/i,
    );
    if (m) {
      const scope = m[1] ?? "";
      const kind = (m[2] ?? "").toLowerCase();
      const id = m[3];
      if (kind === "roledefinitions") {
        const defs = Object.entries(ROLE_IDS).map(([roleName, rid]) => ({
          id: `/subscriptions/${subId}/providers/Microsoft.Authorization/roleDefinitions/${rid}`,
          name: rid,
          type: "Microsoft.Authorization/roleDefinitions",
          properties: {
            roleName,
            type: "BuiltInRole",
            description: roleName,
            assignableScopes: ["/"],
            permissions: [
              {
                ...ROLE_PERMISSIONS[/** @type {keyof typeof ROLE_PERMISSIONS} */ (roleName)],
                dataActions: [],
                notDataActions: [],
              },
            ],
          },
        }));
        if (id) {
          const d = defs.find((x) => x.name === id.toLowerCase());
          return d
            ? reply(200, d)
            : reply(404, armError("RoleDefinitionDoesNotExist", "The specified role definition does not exist."));
        }
        const name = (u.searchParams.get("$filter") ?? "").match(/roleName eq '([^']*)'/i)?.[1];
        return reply(200, { value: defs.filter((d) => !name || d.properties.roleName === name) });
      }
      if (kind === "permissions" && method === "GET") {
        const rg = scope.match(/\/resourceGroups\/([^/]+)$/i)?.[1];
        if (rg && !findGroup(subId, rg))
          return reply(404, armError("ResourceGroupNotFound", `Resource group '${rg}' could not be found.`));
        return reply(200, { value: permissionsAt(scope).map((p) => ({ ...p, dataActions: [], notDataActions: [] })) });
      }
      if (kind === "roleassignments" && method === "GET" && !id) {
        const filter = u.searchParams.get("$filter") ?? "";
        const principal =
          filter.match(/principalId eq '([^']*)'/i)?.[1] ?? filter.match(/assignedTo\('([^']*)'\)/i)?.[1];
        const s = scope.toLowerCase();
        const value = state.roleAssignments.filter((a) => {
          const as = a.properties.scope.toLowerCase();
          // At the scope, above it (inherited) or, for atScope()-less lists, below it.
          const related = as === s || s.startsWith(`${as}/`) || as.startsWith(`${s}/`);
          return related && (!principal || a.properties.principalId === principal);
        });
        return reply(200, { value });
      }
      if (kind === "roleassignments" && method === "DELETE" && id) {
        const found = state.roleAssignments.find(
          (a) => a.name === id && a.properties.scope.toLowerCase() === scope.toLowerCase(),
        );
        if (!found) return reply(204);
        entry.mutating = true;
        state.roleAssignments = state.roleAssignments.filter((a) => a !== found);
        return reply(200, found);
      }
      if (kind === "roleassignments" && method === "PUT" && id) {
        const props = body?.properties ?? {};
        if (!callerMay(scope, "Microsoft.Authorization/roleAssignments/write")) {
          return reply(
            403,
            armError(
              "AuthorizationFailed",
              `The client '${state.caller.objectId}' with object id '${state.caller.objectId}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/write' over scope '${scope}/providers/Microsoft.Authorization/roleAssignments/${id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
            ),
          );
        }
        if (!scopeExists(subId, scope))
          return reply(404, armError("ResourceNotFound", `The scope '${scope}' does not exist.`));
        const principalId = props.principalId;
        const known =
          state.servicePrincipals.some((s) => s.id === principalId) ||
          state.identities.some((i) => i.properties.principalId === principalId) ||
          principalId === state.caller.objectId;
        const left = lagging.get(principalId) ?? 0;
        if (!known || left > 0) {
          if (left > 0) lagging.set(principalId, left - 1);
          return reply(
            400,
            armError(
              "PrincipalNotFound",
              `Principal ${principalId} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
            ),
          );
        }
        const same = state.roleAssignments.find(
          (a) =>
            a.properties.scope.toLowerCase() === scope.toLowerCase() &&
            a.properties.principalId === principalId &&
            a.properties.roleDefinitionId.toLowerCase() === String(props.roleDefinitionId).toLowerCase(),
        );
        if (same && same.name !== id)
          return reply(409, armError("RoleAssignmentExists", "The role assignment already exists."));
        if (same) return reply(200, same);
        entry.mutating = true;
        const roleId = String(props.roleDefinitionId).split("/").pop() ?? "";
        const a = assignment(scope, roleId, principalId, props.principalType ?? "Unknown", id);
        a.properties.roleDefinitionId = props.roleDefinitionId;
        state.roleAssignments.push(a);
        madeAt.set(a.id, now());
        return reply(201, a);
      }
    }

    // ---- resource provider registration ----
    m = rest.match(/^\/providers\/([^/]+)(\/register)?$/i);
    if (m) {
      const ns = (m[1] ?? "").toLowerCase();
      const known = Object.keys(state.providers).find((k) => k.toLowerCase() === ns) ?? m[1] ?? "";
      if (m[2] && method === "POST") {
        entry.mutating = true;
        if (state.providers[known] !== "Registered") state.providers[known] = "Registering";
      } else if (method === "GET" && state.providers[known] === "Registering") {
        // Registration completes by the next read.
        state.providers[known] = "Registered";
        return reply(200, {
          id: `/subscriptions/${subId}/providers/${known}`,
          namespace: known,
          registrationState: "Registering",
        });
      } else if (method !== "GET") return reply(405, armError("MethodNotAllowed", "Method not allowed."));
      return reply(200, {
        id: `/subscriptions/${subId}/providers/${known}`,
        namespace: known,
        registrationState: state.providers[known] ?? "NotRegistered",
        resourceTypes: [],
      });
    }

    // ---- registries: name check and subscription-wide list ----
    if (
      /^\/providers\/microsoft\.containerregistry\/checknameavailability$/.test(rest.toLowerCase()) &&
      method === "POST"
    ) {
      const name = String(body?.name ?? "");
      if (!/^[a-zA-Z0-9]{5,50}$/.test(name))
        return reply(200, {
          nameAvailable: false,
          reason: "Invalid",
          message: "The specified resource name is invalid.",
        });
      const taken =
        state.registries.some((r) => r.name.toLowerCase() === name.toLowerCase()) ||
        (options.takenRegistryNames ?? []).includes(name.toLowerCase());
      return reply(
        200,
        taken
          ? { nameAvailable: false, reason: "AlreadyExists", message: `The registry ${name} is already in use.` }
          : { nameAvailable: true },
      );
    }
    if (/^\/providers\/microsoft\.containerregistry\/registries$/.test(rest.toLowerCase()) && method === "GET") {
      return reply(200, {
        value: state.registries.filter((r) => r.id.toLowerCase().startsWith(`/subscriptions/${subId}/`)),
      });
    }

    // ---- resource groups ----
    m = rest.match(/^\/resourcegroups\/([^/]+)(\/.*)?$/i);
    if (!m) return reply(404, armError("InvalidResourceType", `No route for ${path}.`));
    const rgName = m[1] ?? "";
    const inner = m[2] ?? "";
    const group = findGroup(subId, rgName);
    // Writes into a group being deleted (realism.mjs; common-deployment-errors lists ResourceGroupBeingDeleted).
    if (group && deleting.has(group.id.toLowerCase()) && method === "PUT")
      return reply(
        409,
        armError(
          "ResourceGroupBeingDeleted",
          `The resource group '${rgName}' is in deprovisioning state and cannot perform this operation.`,
        ),
      );
    if (!inner) {
      if (method === "HEAD") return reply(group ? 204 : 404);
      if (method === "DELETE") {
        if (!group) return reply(204);
        entry.mutating = true;
        // Realistic: a long-running operation (202 + Location, polled until the group is gone); the group reads
        // "Deleting" meanwhile. https://learn.microsoft.com/rest/api/resources/resource-groups/delete
        if (faults.lags.groupDelete > 0) {
          if (!deleting.has(group.id.toLowerCase())) beginGroupDelete(group);
          const opId = randomUUID();
          state.operations.set(opId, { id: opId, polls: 0, group: group.id });
          const status = `${url}/sim/operations/${opId}?api-version=${apiVersion}`;
          return reply(202, undefined, { location: status, "retry-after": "0" });
        }
        // Otherwise synchronous: the group and everything in it (and role assignments at or below it).
        removeGroup(group);
        return reply(200);
      }
      if (method === "GET")
        return group
          ? reply(200, group)
          : reply(404, armError("ResourceGroupNotFound", `Resource group '${rgName}' could not be found.`));
      if (method === "PUT") {
        if (!/^[-\w._()]{1,90}$/.test(rgName) || rgName.endsWith("."))
          return reply(
            400,
            armError(
              "InvalidResourceGroup",
              `The provided resource group name '${rgName}' has these invalid characters.`,
            ),
          );
        if (!callerMay(`/subscriptions/${subId}`, "Microsoft.Resources/subscriptions/resourceGroups/write"))
          return reply(
            403,
            armError(
              "AuthorizationFailed",
              `The client '${state.caller.objectId}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resourcegroups/write'.`,
            ),
          );
        if (group && group.location !== String(body?.location ?? "").toLowerCase()) {
          return reply(
            409,
            armError(
              "InvalidResourceGroupLocation",
              `Invalid resource group location '${body?.location}'. The Resource group already exists in location '${group.location}'.`,
            ),
          );
        }
        entry.mutating = true;
        if (group) {
          group.tags = body?.tags ?? group.tags;
          return reply(200, group);
        }
        const g = {
          id: `/subscriptions/${subId}/resourceGroups/${rgName}`,
          name: rgName,
          type: "Microsoft.Resources/resourceGroups",
          location: String(body?.location ?? "").toLowerCase(),
          tags: body?.tags ?? {},
          properties: { provisioningState: "Succeeded" },
        };
        state.resourceGroups.push(g);
        return reply(201, g);
      }
    }
    const unregistered = (/** @type {string} */ ns) =>
      reply(
        409,
        armError(
          "MissingSubscriptionRegistration",
          `The subscription is not registered to use namespace '${ns}'. See https://aka.ms/rps-not-found for how to register subscriptions.`,
        ),
      );
    const needGroup = () =>
      reply(404, armError("ResourceGroupNotFound", `Resource group '${rgName}' could not be found.`));

    // ---- every resource in a group ----
    if (/^\/resources$/i.test(inner) && method === "GET") {
      if (!group) return needGroup();
      const under = (/** @type {any} */ x) => x.id.toLowerCase().startsWith(`${group.id.toLowerCase()}/`);
      const view = (/** @type {any} */ x) => ({
        id: x.id,
        name: x.name,
        type: x.type,
        location: x.location,
        tags: x.tags,
      });
      // Served from a cache: resources deleted lately are still listed (realism.mjs, azure-rest-api-specs#21221).
      const stale = ghosts.filter((x) => now() < x.at + faults.lags.listing && under(x.view)).map((x) => x.view);
      const live = [...state.registries, ...state.identities, ...state.containerGroups].filter(under).map(view);
      return reply(200, { value: [...live, ...stale.filter((x) => !live.some((l) => l.id === x.id))] });
    }

    // ---- registries in a group ----
    m = inner.match(/^\/providers\/Microsoft\.ContainerRegistry\/registries(?:\/([^/]+))?$/i);
    if (m) {
      if (!group) return needGroup();
      const name = m[1];
      if (!name && method === "GET")
        return reply(200, {
          value: state.registries.filter((r) => r.id.toLowerCase().startsWith(`${group.id.toLowerCase()}/`)),
        });
      if (!name) return reply(405, armError("MethodNotAllowed", "Method not allowed."));
      const found = state.registries.find(
        (r) =>
          r.id.toLowerCase() === `${group.id}/providers/Microsoft.ContainerRegistry/registries/${name}`.toLowerCase(),
      );
      if (method === "GET")
        return found
          ? reply(200, found)
          : reply(
              404,
              armError(
                "ResourceNotFound",
                `The Resource 'Microsoft.ContainerRegistry/registries/${name}' under resource group '${rgName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
              ),
            );
      if (method === "DELETE") {
        if (!found) return reply(204);
        entry.mutating = true;
        const rid = found.id.toLowerCase();
        ghost(found);
        state.registries = state.registries.filter((r) => r !== found);
        state.roleAssignments = state.roleAssignments.filter((a) => a.properties.scope.toLowerCase() !== rid);
        delete state.acrRepositories[found.properties.loginServer];
        return reply(200);
      }
      if (method === "PUT" && state.providers["Microsoft.ContainerRegistry"] !== "Registered")
        return unregistered("Microsoft.ContainerRegistry");
      if (method === "PUT") {
        if (!/^[a-zA-Z0-9]{5,50}$/.test(name))
          return reply(
            400,
            armError(
              "InvalidRegistryName",
              "Registry names may contain only alpha numeric characters and must be between 5 and 50 characters.",
            ),
          );
        if (
          !found &&
          (state.registries.some((r) => r.name.toLowerCase() === name.toLowerCase()) ||
            (options.takenRegistryNames ?? []).includes(name.toLowerCase()))
        ) {
          return reply(
            409,
            armError(
              "AlreadyInUse",
              `The registry DNS name ${name.toLowerCase()}.azurecr.io is already in use. You can check if the name is already claimed using following API: https://docs.microsoft.com/en-us/rest/api/containerregistry/registries/checknameavailability`,
            ),
          );
        }
        if (faults.active.has("policyDenied")) return reply(403, policyDenial(subId, name));
        if (body?.sku?.name !== "Basic" && body?.sku?.name !== "Standard" && body?.sku?.name !== "Premium")
          return reply(400, armError("InvalidSku", "The sku is invalid."));
        entry.mutating = true;
        const r = found ?? {
          id: `${group.id}/providers/Microsoft.ContainerRegistry/registries/${name}`,
          name,
          type: "Microsoft.ContainerRegistry/registries",
          location: String(body.location ?? "").toLowerCase(),
          tags: body.tags ?? {},
          sku: { name: body.sku.name, tier: body.sku.name },
          systemData: {
            createdBy: state.caller.objectId,
            createdByType: "Application",
            createdAt: new Date().toISOString(),
          },
          properties: {
            loginServer: `${name.toLowerCase()}.azurecr.io`,
            creationDate: new Date().toISOString(),
            provisioningState: "Creating",
            adminUserEnabled: body.properties?.adminUserEnabled ?? false,
            publicNetworkAccess: "Enabled",
            zoneRedundancy: "Disabled",
            anonymousPullEnabled: false,
            networkRuleBypassOptions: "AzureServices",
            dataEndpointEnabled: false,
            policies: {
              quarantinePolicy: { status: "disabled" },
              trustPolicy: { type: "Notary", status: "disabled" },
              retentionPolicy: { days: 7, lastUpdatedTime: new Date().toISOString(), status: "disabled" },
              exportPolicy: { status: "enabled" },
              azureADAuthenticationAsArmPolicy: { status: "enabled" },
            },
            encryption: { status: "disabled" },
            status: null,
            networkRuleSet: { defaultAction: "Allow", ipRules: [] },
            dataEndpointHostNames: [],
            privateEndpointConnections: [],
            networkRuleBypassAllowedForTasks: false,
            roleAssignmentMode: "LegacyRegistryPermissions",
          },
        };
        if (found) {
          found.tags = body.tags ?? found.tags;
          return reply(200, found);
        }
        state.registries.push(r);
        const opId = randomUUID();
        state.operations.set(opId, {
          id: opId,
          polls: 0,
          registry: r,
          fail: faults.active.has("registryCreateFailed") ? "InternalServerError" : options.registryCreateFails,
        });
        const status = `${url}/sim/operations/${opId}?api-version=${apiVersion}`;
        return reply(201, r, { "azure-asyncoperation": status, location: status, "retry-after": "0" });
      }
    }

    // ---- container groups (what a push run starts): Pending → Running → Terminated over successive GETs ----
    m = inner.match(
      /^\/providers\/Microsoft\.ContainerInstance\/containerGroups\/([^/]+)(?:\/containers\/([^/]+)\/logs)?$/i,
    );
    if (m) {
      if (!group) return needGroup();
      const name = m[1] ?? "";
      const id = `${group.id}/providers/Microsoft.ContainerInstance/containerGroups/${name}`;
      const found = state.containerGroups.find((c) => c.id.toLowerCase() === id.toLowerCase());
      const principal = principalOf(currentRequest);
      const denied = (/** @type {string} */ action) =>
        reply(
          403,
          armError(
            "AuthorizationFailed",
            `The client '${principal}' with object id '${principal}' does not have authorization to perform action '${action}' over scope '${id}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
          ),
        );
      const notFound = () =>
        reply(
          404,
          armError(
            "ResourceNotFound",
            `The Resource 'Microsoft.ContainerInstance/containerGroups/${name}' under resource group '${rgName}' was not found.`,
          ),
        );
      if (m[2] && method === "GET") {
        if (!callerMay(id, "Microsoft.ContainerInstance/containerGroups/containers/logs/read", principal))
          return denied("Microsoft.ContainerInstance/containerGroups/containers/logs/read");
        if (!found) return notFound();
        return reply(200, { content: found.polls >= 2 ? found.logs : "" });
      }
      if (method === "GET") {
        if (!callerMay(id, "Microsoft.ContainerInstance/containerGroups/read", principal))
          return denied("Microsoft.ContainerInstance/containerGroups/read");
        if (!found) return notFound();
        // Held: the container stays Running (polls stop at 1) until the test sets the knob back to false.
        found.polls = faults.holdContainerGroups ? 1 : found.polls + 1;
        const c = found.properties.containers[0];
        if (found.polls === 1) {
          found.properties.instanceView.state = "Running";
          c.properties.instanceView = { currentState: { state: "Running", detailStatus: "" }, restartCount: 0 };
        } else if (found.polls >= 2) {
          found.properties.instanceView.state = found.exitCode === 0 ? "Succeeded" : "Failed";
          c.properties.instanceView = {
            currentState: { state: "Terminated", exitCode: found.exitCode, detailStatus: "Completed" },
            restartCount: 0,
          };
        }
        const { polls: _p, logs: _l, exitCode: _e, ...wire } = found;
        return reply(200, faults.active.has("containerGroupFailed") ? failedContainerGroup(wire) : wire);
      }
      if (method === "DELETE") {
        if (!callerMay(id, "Microsoft.ContainerInstance/containerGroups/delete", principal))
          return denied("Microsoft.ContainerInstance/containerGroups/delete");
        if (!found) return reply(204);
        entry.mutating = true;
        ghost(found);
        state.containerGroups = state.containerGroups.filter((c) => c !== found);
        return reply(200);
      }
      if (method === "PUT") {
        if (state.providers["Microsoft.ContainerInstance"] !== "Registered")
          return unregistered("Microsoft.ContainerInstance");
        if (!callerMay(id, "Microsoft.ContainerInstance/containerGroups/write", principal))
          return denied("Microsoft.ContainerInstance/containerGroups/write");
        const ids = Object.keys(body?.identity?.userAssignedIdentities ?? {});
        const missing = ids.find((i) => !state.identities.some((x) => x.id.toLowerCase() === i.toLowerCase()));
        if (missing !== undefined)
          return reply(400, armError("InvalidIdentity", `The user-assigned identity '${missing}' was not found.`));
        const containers = body?.properties?.containers;
        if (!Array.isArray(containers) || !containers[0]?.properties?.image)
          return reply(400, armError("InvalidContainerGroup", "A container group needs at least one container."));
        entry.mutating = true;
        const command = containers[0].properties.command ?? [];
        const echoed = /echo\s+"([^"]*)"/.exec(command.join(" "))?.[1];
        const cg = {
          id,
          name,
          type: "Microsoft.ContainerInstance/containerGroups",
          location: String(body.location ?? "").toLowerCase(),
          tags: body.tags ?? {},
          ...(ids.length ? { identity: body.identity } : {}),
          properties: {
            ...body.properties,
            provisioningState: "Succeeded",
            instanceView: { state: "Pending", events: [] },
          },
          polls: 0,
          logs: echoed !== undefined ? `${echoed}\n` : "",
          exitCode: 0,
        };
        state.containerGroups = state.containerGroups.filter((c) => c !== found);
        state.containerGroups.push(cg);
        const { polls: _p, logs: _l, exitCode: _e, ...wire } = cg;
        return reply(found ? 200 : 201, wire);
      }
    }

    // ---- user-assigned identities ----
    m = inner.match(/^\/providers\/Microsoft\.ManagedIdentity\/userAssignedIdentities(?:\/([^/]+))?$/i);
    if (m) {
      if (!group) return needGroup();
      const name = m[1];
      if (!name && method === "GET")
        return reply(200, {
          value: state.identities.filter((i) => i.id.toLowerCase().startsWith(`${group.id.toLowerCase()}/`)),
        });
      if (!name) return reply(405, armError("MethodNotAllowed", "Method not allowed."));
      const id = `/subscriptions/${subId}/resourcegroups/${group.name}/providers/Microsoft.ManagedIdentity/userAssignedIdentities/${name}`;
      const found = state.identities.find((i) => i.id.toLowerCase() === id.toLowerCase());
      if (method === "GET")
        return found
          ? reply(200, found)
          : reply(
              404,
              armError(
                "ResourceNotFound",
                `The Resource 'Microsoft.ManagedIdentity/userAssignedIdentities/${name}' under resource group '${rgName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
              ),
            );
      if (method === "DELETE") {
        if (!found) return reply(204);
        entry.mutating = true;
        ghost(found);
        state.identities = state.identities.filter((i) => i !== found);
        return reply(200);
      }
      if (method === "PUT" && state.providers["Microsoft.ManagedIdentity"] !== "Registered")
        return unregistered("Microsoft.ManagedIdentity");
      if (method === "PUT") {
        entry.mutating = true;
        if (found) {
          found.tags = body?.tags ?? found.tags;
          return reply(200, found);
        }
        const ident = {
          id,
          name,
          type: "Microsoft.ManagedIdentity/userAssignedIdentities",
          location: String(body?.location ?? "").toLowerCase(),
          tags: body?.tags ?? {},
          properties: { tenantId, principalId: randomUUID(), clientId: randomUUID(), isolationScope: "None" },
        };
        state.identities.push(ident);
        if (faults.principalLag > 0) lagging.set(ident.properties.principalId, faults.principalLag);
        return reply(201, ident);
      }
    }
    return reply(404, armError("InvalidResourceType", `No route for ${method} ${path}.`));
  }

  /** Deletes a group and everything in it (and role assignments at or below it). */
  function removeGroup(/** @type {any} */ group) {
    const under = (/** @type {string} */ id) =>
      id.toLowerCase() === group.id.toLowerCase() || id.toLowerCase().startsWith(`${group.id.toLowerCase()}/`);
    for (const r of state.registries.filter((x) => under(x.id))) {
      delete state.acrRepositories[r.properties.loginServer];
      ghost(r);
    }
    for (const x of [...state.identities, ...state.containerGroups].filter((y) => under(y.id))) ghost(x);
    state.registries = state.registries.filter((x) => !under(x.id));
    state.identities = state.identities.filter((x) => !under(x.id));
    state.containerGroups = state.containerGroups.filter((x) => !under(x.id));
    state.roleAssignments = state.roleAssignments.filter((a) => !under(a.properties.scope));
    state.resourceGroups = state.resourceGroups.filter((g) => g !== group);
  }

  function findGroup(/** @type {string} */ subId, /** @type {string} */ name) {
    return state.resourceGroups.find(
      (g) => g.id.toLowerCase() === `/subscriptions/${subId}/resourcegroups/${name}`.toLowerCase(),
    );
  }
  function scopeExists(/** @type {string} */ subId, /** @type {string} */ scope) {
    const s = scope.toLowerCase();
    if (s === `/subscriptions/${subId}`) return true;
    if (state.resourceGroups.some((g) => g.id.toLowerCase() === s)) return true;
    return state.registries.some((r) => r.id.toLowerCase() === s);
  }
  function subView(/** @type {any} */ s) {
    return {
      id: `/subscriptions/${s.subscriptionId}`,
      subscriptionId: s.subscriptionId,
      tenantId: s.tenantId,
      displayName: s.displayName,
      state: s.state,
      subscriptionPolicies: {
        locationPlacementId: "Public_2014-09-01",
        quotaId: "PayAsYouGo_2014-09-01",
        spendingLimit: "Off",
      },
      authorizationSource: "RoleBased",
      managedByTenants: [],
      tags: {},
    };
  }

  const env = {
    AZURE_TENANT_ID: tenantId,
    AZURE_CLIENT_ID: state.caller.clientId,
    AZURE_CLIENT_SECRET: state.caller.clientSecret,
    AZURE_AUTHORITY_HOST: url,
    WP_AZURE_ARM_ENDPOINT: url,
    WP_AZURE_GRAPH_ENDPOINT: `${url}/graph`,
    WP_AZURE_ACR_ENDPOINT: `${url}/acr`,
    NODE_EXTRA_CA_CERTS: cert.certFile,
  };

  return {
    url,
    port,
    cert,
    state,
    faults,
    env,
    mutations: () => state.log.filter((e) => e.mutating),
    clearLog: () => {
      state.log.length = 0;
    },
    deterministicId: (/** @type {string} */ s) => createHash("sha256").update(s).digest("hex").slice(0, 32),
    close: (/** @type {{ keepCertificate?: boolean } | undefined} */ o) =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve(undefined));
        // A certificate this simulator made goes with it (a caller's own is the caller's).
        if (!options.cert && !o?.keepCertificate) rmSync(cert.dir, { recursive: true, force: true });
      }),
  };
}
