/**
 * A loopback proxy between the AWS SDK and moto that answers as AWS does while it is eventually
 * consistent and busy — what moto, which answers at once and never throttles, lacks. Each behaviour
 * cites the AWS documentation it models. Lags are short here (tests), real ones are seconds.
 *
 *  - A new access key is refused with InvalidClientTokenId (UnrecognizedClientException on JSON
 *    services) for `lags.keyMs` after CreateAccessKey answered:
 *    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
 *    ("changes ... take time to become visible"; a new key may not work at once).
 *  - A new role is not yet assumable by ECS for `lags.roleMs`: RunTask answers ClientException "ECS was
 *    unable to assume the role …" (https://repost.aws/knowledge-center/ecs-unable-to-assume-role,
 *    https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency).
 *  - Read-after-write: for `lags.entityMs` after CreateUser / CreateRole / CreatePolicy, other IAM
 *    calls naming the new entity answer NoSuchEntity (404), as IAM is eventually consistent (same page).
 *  - Throttling: `throttle(r)` true answers the service's throttling error — IAM/STS `Throttling`
 *    (400), EC2 `RequestLimitExceeded` (503), JSON services `ThrottlingException` (400), or
 *    `TooManyRequestsException` — https://docs.aws.amazon.com/general/latest/gr/api-retries.html,
 *    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/throttling.html,
 *    https://docs.aws.amazon.com/IAM/latest/APIReference/CommonErrors.html.
 *  - Paging: IAM lists answer `pageSize` items per page with IsTruncated/Marker, EC2 describes with
 *    nextToken (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListAccessKeys.html "IsTruncated",
 *    https://docs.aws.amazon.com/AWSEC2/latest/APIReference/Query-Requests.html#api-pagination).
 *  - `dropAnswer(r)` true: the request reaches moto (it acts) but the answer never arrives (the
 *    connection is reset): a lost answer.
 *  - iam:SimulatePrincipalPolicy, which moto does not implement, is answered here from the principal's
 *    policies as moto holds them, with IAM's evaluation logic (an explicit Deny wins, else an Allow, else
 *    implicitDeny): https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html,
 *    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html. A caller
 *    that is a moto IAM user must itself be allowed iam:SimulatePrincipalPolicy (else AccessDenied).
 */
import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach } from "vitest";
import { isolateAwsEnv, type Moto, startMoto } from "./moto.js";

export interface Lags {
  /** A new access key is refused (InvalidClientTokenId) this long after it was made. */
  keyMs: number;
  /** ECS cannot assume a new role this long after it was made. */
  roleMs: number;
  /** IAM answers NoSuchEntity for a new user, role or policy this long after it was made. */
  entityMs: number;
}

export const NO_LAGS: Lags = { keyMs: 0, roleMs: 0, entityMs: 0 };
/** Short lags as in the tests' "realistic" mode. */
export const TEST_LAGS: Lags = { keyMs: 1500, roleMs: 1500, entityMs: 1200 };

export interface ProxiedRequest {
  service: string;
  action: string;
  /** The access key id that signed it. */
  keyId: string;
  /** Query parameters (IAM, STS, EC2) or the JSON body's top-level strings (ECS, ECR, Logs). */
  params: Record<string, string>;
  json: boolean;
}

export interface Injected {
  action: string;
  code: string;
}

export interface AwsProxy {
  url: string;
  requests: ProxiedRequest[];
  /** Every answer the proxy made up instead of moto's. */
  injected: Injected[];
  lags: Lags;
  /** Items per page of IAM lists and EC2 describes (0: moto's whole list). */
  pageSize: number;
  /**
   * When it answers true, the request gets the service's throttling error; a code answers that code
   * instead ("TooManyRequestsException" 429, "ServiceUnavailable" 503).
   */
  throttle?: ((r: ProxiedRequest) => boolean | "TooManyRequestsException" | "ServiceUnavailable") | undefined;
  /** When true for a request, answered with the (non-transient) error code InjectedFailure instead of forwarding. */
  fail?: ((r: ProxiedRequest) => boolean) | undefined;
  dropAnswer?: ((r: ProxiedRequest) => boolean) | undefined;
  /** Requests that change something (not Get/List/Describe/Simulate). */
  mutations(): ProxiedRequest[];
  /** Forget requests, injections, new entities and pages; lags, throttle and drop back to off. */
  reset(): void;
  close(): Promise<void>;
}

export const isRead = (action: string): boolean => /^(Get|List|Describe|Simulate)/.test(action);

type Reply = { status: number; type: string; body: string; headers?: Record<string, string> };

function errorReply(r: ProxiedRequest, status: number, code: string, message: string): Reply {
  if (r.json) {
    return {
      status,
      type: "application/x-amz-json-1.1",
      body: JSON.stringify({ __type: code, message }),
      headers: { "x-amzn-errortype": code },
    };
  }
  const error = `<Code>${code}</Code><Message>${escapeXml(message)}</Message>`;
  if (r.service === "ec2")
    return {
      status,
      type: "text/xml",
      body: `<Response><Errors><Error>${error}</Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`,
    };
  return {
    status,
    type: "text/xml",
    body: `<ErrorResponse><Error><Type>Sender</Type>${error}</Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  };
}

const escapeXml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function parse(req: IncomingMessage, body: Buffer): ProxiedRequest {
  const auth = req.headers.authorization ?? "";
  const scope = /Credential=([^/]+)\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth);
  const target = req.headers["x-amz-target"];
  const text = body.toString("utf8");
  if (typeof target === "string") {
    let doc: Record<string, unknown> = {};
    try {
      doc = JSON.parse(text || "{}") as Record<string, unknown>;
    } catch {
      // not JSON
    }
    const params = Object.fromEntries(
      Object.entries(doc).filter((e): e is [string, string] => typeof e[1] === "string"),
    );
    return {
      service: scope?.[2] ?? "unknown",
      action: target.split(".").pop() ?? "",
      keyId: scope?.[1] ?? "",
      params,
      json: true,
    };
  }
  const params = Object.fromEntries(new URLSearchParams(text));
  return {
    service: scope?.[2] ?? "unknown",
    action: params.Action ?? `${req.method} ${req.url}`,
    keyId: scope?.[1] ?? "",
    params,
    json: false,
  };
}

/** The top-level `<member>`/`<item>` elements of a list element, depth-aware (items nest in EC2). */
function splitItems(inner: string, tag: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<(/?)${tag}(\\s[^>]*)?(/?)>`, "g");
  let depth = 0;
  let start = -1;
  for (let m = re.exec(inner); m; m = re.exec(inner)) {
    if (m[3] === "/") {
      if (depth === 0) out.push(m[0]);
      continue;
    }
    if (m[1] === "/") {
      depth--;
      if (depth === 0) out.push(inner.slice(start, m.index + m[0].length));
    } else {
      if (depth === 0) start = m.index;
      depth++;
    }
  }
  return out;
}

/** The lists the proxy pages: IAM's (member, IsTruncated/Marker) and EC2's (item, nextToken). */
const IAM_LISTS: Record<string, string> = {
  ListAccessKeys: "AccessKeyMetadata",
  ListPolicyVersions: "Versions",
  ListAttachedUserPolicies: "AttachedPolicies",
  ListAttachedRolePolicies: "AttachedPolicies",
  ListRolePolicies: "PolicyNames",
  ListPolicies: "Policies",
  ListPolicyTags: "Tags",
};
const EC2_LISTS: Record<string, string> = {
  DescribeVpcs: "vpcSet",
  DescribeSubnets: "subnetSet",
  DescribeSecurityGroups: "securityGroupInfo",
  DescribeRouteTables: "routeTableSet",
  DescribeInternetGateways: "internetGatewaySet",
};

interface Paged {
  pages: string[][];
  head: string;
  tail: string;
  container: string;
}

export async function startAwsProxy(target: string, motoUrl = target): Promise<AwsProxy> {
  const to = new URL(target);
  const newKeys = new Map<string, number>();
  const newRoles = new Map<string, number>();
  const newEntities = new Map<string, number>();
  const familyRole = new Map<string, string>();
  /** Later pages of lists, by the token the proxy issued. */
  const pending = new Map<string, { p: Paged; index: number }>();
  const proxy: AwsProxy = {
    url: "",
    requests: [],
    injected: [],
    lags: { ...NO_LAGS },
    pageSize: 0,
    mutations: () => proxy.requests.filter((r) => !isRead(r.action)),
    reset() {
      proxy.requests.length = 0;
      proxy.injected.length = 0;
      proxy.lags = { ...NO_LAGS };
      proxy.pageSize = 0;
      proxy.throttle = undefined;
      proxy.fail = undefined;
      proxy.dropAnswer = undefined;
      for (const m of [newKeys, newRoles, newEntities, familyRole, pending]) m.clear();
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
  const young = (map: Map<string, number>, key: string, ms: number) => {
    const at = map.get(key);
    return at !== undefined && Date.now() < at + ms;
  };

  /** An answer the proxy makes up, or undefined to forward to moto. */
  function inject(r: ProxiedRequest): Reply | undefined {
    const busy = proxy.throttle?.(r);
    if (busy === "TooManyRequestsException") return errorReply(r, 429, busy, "Too Many Requests");
    if (busy === "ServiceUnavailable") return errorReply(r, 503, busy, "Service is unavailable, please try again.");
    if (busy) return throttled(r);
    if (proxy.fail?.(r)) return errorReply(r, 400, "InjectedFailure", "injected by the test");
    if (young(newKeys, r.keyId, proxy.lags.keyMs)) {
      return r.json
        ? errorReply(r, 400, "UnrecognizedClientException", "The security token included in the request is invalid.")
        : errorReply(r, 403, "InvalidClientTokenId", "The security token included in the request is invalid.");
    }
    // Every IAM call naming a young entity but the one creating it (CreateUser again answers EntityAlreadyExists).
    if (r.service === "iam" && !["CreateUser", "CreateRole", "CreatePolicy"].includes(r.action)) {
      const user = r.params.UserName;
      const role = r.params.RoleName;
      const policy = r.params.PolicyArn;
      if (user && young(newEntities, `user:${user}`, proxy.lags.entityMs))
        return errorReply(r, 404, "NoSuchEntity", `The user with name ${user} cannot be found.`);
      if (role && young(newEntities, `role:${role}`, proxy.lags.entityMs))
        return errorReply(r, 404, "NoSuchEntity", `The role with name ${role} cannot be found.`);
      if (policy && young(newEntities, `policy:${policy}`, proxy.lags.entityMs))
        return errorReply(r, 404, "NoSuchEntity", `Policy ${policy} does not exist or is not attachable.`);
    }
    if (r.action === "RunTask") {
      const family = (r.params.taskDefinition ?? "").split("/").pop()?.split(":")[0] ?? "";
      const role = familyRole.get(family);
      if (role && young(newRoles, role, proxy.lags.roleMs))
        return errorReply(
          r,
          400,
          "ClientException",
          `ECS was unable to assume the role '${role}' that was provided for this task. Please verify that the role ` +
            "being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.",
        );
    }
    return undefined;
  }

  function throttled(r: ProxiedRequest): Reply {
    if (r.service === "ec2") return errorReply(r, 503, "RequestLimitExceeded", "Request limit exceeded.");
    if (r.json) return errorReply(r, 400, "ThrottlingException", "Rate exceeded");
    return errorReply(r, 400, "Throttling", "Rate exceeded");
  }

  /** What moto's answer teaches: new keys, roles and entities, and the task definitions' roles. */
  function learn(r: ProxiedRequest, status: number, body: string): void {
    if (status >= 300) return;
    const now = Date.now();
    const tag = (t: string) => new RegExp(`<${t}>([^<]*)</${t}>`).exec(body)?.[1];
    if (r.action === "CreateAccessKey") {
      const id = tag("AccessKeyId");
      if (id) newKeys.set(id, now);
    } else if (r.action === "CreateUser" && r.params.UserName) {
      newEntities.set(`user:${r.params.UserName}`, now);
    } else if (r.action === "CreateRole" && r.params.RoleName) {
      newEntities.set(`role:${r.params.RoleName}`, now);
      const arn = tag("Arn");
      if (arn) newRoles.set(arn, now);
    } else if (r.action === "CreatePolicy") {
      const arn = tag("Arn");
      if (arn) newEntities.set(`policy:${arn}`, now);
    } else if (r.action === "RegisterTaskDefinition" && r.params.family && r.params.executionRoleArn) {
      familyRole.set(r.params.family, r.params.executionRoleArn);
    }
  }

  /** Pages of a list answer moto gave whole; the first page now, the rest for the next calls. */
  function page(r: ProxiedRequest, body: string): string {
    const iamList = r.service === "iam" ? IAM_LISTS[r.action] : undefined;
    const ec2List = r.service === "ec2" ? EC2_LISTS[r.action] : undefined;
    const container = iamList ?? ec2List;
    if (!container || proxy.pageSize <= 0) return body;
    const open = body.indexOf(`<${container}>`);
    const close = body.lastIndexOf(`</${container}>`);
    if (open < 0 || close < 0) return body;
    const items = splitItems(body.slice(open + container.length + 2, close), iamList ? "member" : "item");
    if (items.length <= proxy.pageSize) return body;
    const pages: string[][] = [];
    for (let i = 0; i < items.length; i += proxy.pageSize) pages.push(items.slice(i, i + proxy.pageSize));
    // moto's own IsTruncated/Marker (or nextToken) are dropped: the proxy pages the whole list.
    const strip = (s: string) =>
      s
        .replace(/<IsTruncated>[^<]*<\/IsTruncated>/, "")
        .replace(/<Marker>[^<]*<\/Marker>/, "")
        .replace(/<nextToken>[^<]*<\/nextToken>/, "");
    const p: Paged = {
      pages,
      head: strip(body.slice(0, open)),
      tail: strip(body.slice(close + container.length + 3)),
      container,
    };
    return render(r, p, 0);
  }

  function render(r: ProxiedRequest, p: Paged, index: number): string {
    const more = index + 1 < p.pages.length;
    let token = "";
    if (more) {
      token = randomUUID();
      pending.set(token, { p, index: index + 1 });
    }
    const items = (p.pages[index] ?? []).join("");
    const list = `<${p.container}>${items}</${p.container}>`;
    const extra =
      r.service === "iam"
        ? `<IsTruncated>${more}</IsTruncated>${more ? `<Marker>${token}</Marker>` : ""}`
        : more
          ? `<nextToken>${token}</nextToken>`
          : "";
    return `${p.head}${list}${extra}${p.tail}`;
  }

  /** A later page, when the request carries a token the proxy issued. */
  function nextPage(r: ProxiedRequest): Reply | undefined {
    const token = r.params.Marker ?? r.params.NextToken;
    const next = token ? pending.get(token) : undefined;
    if (!token || !next) return undefined;
    pending.delete(token);
    return { status: 200, type: "text/xml", body: render(r, next.p, next.index) };
  }

  function reply(res: ServerResponse, r: Reply, action: string, injected: boolean): void {
    const code = /<Code>([^<]*)<\/Code>|"__type":"([^"]*)"/.exec(r.body);
    if (injected) proxy.injected.push({ action, code: code?.[1] ?? code?.[2] ?? "" });
    res.writeHead(r.status, { "content-type": r.type, ...(r.headers ?? {}) });
    res.end(r.body);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const r = parse(req, body);
      proxy.requests.push(r);
      const made = inject(r);
      if (made) return reply(res, made, r.action, true);
      const later = nextPage(r);
      if (later) return reply(res, later, r.action, false);
      if (r.action === "SimulatePrincipalPolicy") {
        void simulate(motoUrl, r, proxy.pageSize).then(
          (a) => reply(res, a, r.action, false),
          (err: unknown) => reply(res, errorReply(r, 500, "ServiceFailure", String(err)), r.action, false),
        );
        return;
      }
      const fwd = request(
        { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          const out: Buffer[] = [];
          up.on("data", (c: Buffer) => out.push(c));
          up.on("end", () => {
            const text = Buffer.concat(out).toString("utf8");
            learn(r, up.statusCode ?? 500, text);
            if (proxy.dropAnswer?.(r)) {
              proxy.injected.push({ action: r.action, code: "ConnectionReset" });
              res.socket?.destroy();
              return;
            }
            const answer = (up.statusCode ?? 500) < 300 ? page(r, text) : text;
            const headers = { ...up.headers };
            delete headers["content-length"];
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(answer);
          });
        },
      );
      fwd.on("error", (err) => {
        res.writeHead(502);
        res.end(String(err));
      });
      fwd.end(body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}

/* ---------- iam:SimulatePrincipalPolicy, answered from moto's IAM state ---------- */

interface Statement {
  Effect?: string;
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
}

const listOf = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function wildcard(pattern: string, value: string, caseInsensitive: boolean): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, "\\$&")
    .replace(/\*/g, ".*")
    .replace(/\?/g, ".");
  return new RegExp(`^${re}$`, caseInsensitive ? "i" : "").test(value);
}

function statementMatches(s: Statement, action: string, resource: string, vars: Record<string, string>): boolean {
  const actionOk = s.NotAction
    ? !listOf(s.NotAction).some((a) => wildcard(a, action, true))
    : listOf(s.Action).some((a) => wildcard(a, action, true));
  const res = listOf(s.Resource).map((p) => p.replace(/\$\{([^}]+)\}/g, (_m, k: string) => vars[k] ?? ""));
  return actionOk && (resource === "*" ? res.includes("*") : res.some((p) => wildcard(p, resource, false)));
}

/** IAM's decision for one action on one resource under these policy documents. */
export function decide(
  docs: string[],
  action: string,
  resource: string,
  vars: Record<string, string> = {},
): "allowed" | "explicitDeny" | "implicitDeny" {
  const statements = docs.flatMap((d) => {
    const doc = JSON.parse(d) as { Statement?: Statement | Statement[] };
    return Array.isArray(doc.Statement) ? doc.Statement : doc.Statement ? [doc.Statement] : [];
  });
  const hits = statements.filter((s) => statementMatches(s, action, resource, vars));
  if (hits.some((s) => s.Effect === "Deny")) return "explicitDeny";
  return hits.some((s) => s.Effect === "Allow") ? "allowed" : "implicitDeny";
}

/** The identity policies of a moto user or role (attached managed ones and inline ones). */
async function principalPolicies(motoUrl: string, arn: string): Promise<string[] | null> {
  const m = await import("@aws-sdk/client-iam");
  const c = new m.IAMClient({
    region: "us-east-1",
    endpoint: motoUrl,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  const name = arn.split("/").pop() ?? "";
  const isUser = /:user\//.test(arn);
  try {
    const attached = isUser
      ? (await c.send(new m.ListAttachedUserPoliciesCommand({ UserName: name }))).AttachedPolicies
      : (await c.send(new m.ListAttachedRolePoliciesCommand({ RoleName: name }))).AttachedPolicies;
    const inlineNames = isUser
      ? (await c.send(new m.ListUserPoliciesCommand({ UserName: name }))).PolicyNames
      : (await c.send(new m.ListRolePoliciesCommand({ RoleName: name }))).PolicyNames;
    const docs: string[] = [];
    for (const p of attached ?? []) {
      const policy = (await c.send(new m.GetPolicyCommand({ PolicyArn: p.PolicyArn }))).Policy;
      const v = await c.send(
        new m.GetPolicyVersionCommand({ PolicyArn: p.PolicyArn, VersionId: policy?.DefaultVersionId }),
      );
      docs.push(decodeURIComponent(v.PolicyVersion?.Document ?? "{}"));
    }
    for (const n of inlineNames ?? []) {
      const doc = isUser
        ? (await c.send(new m.GetUserPolicyCommand({ UserName: name, PolicyName: n }))).PolicyDocument
        : (await c.send(new m.GetRolePolicyCommand({ RoleName: name, PolicyName: n }))).PolicyDocument;
      docs.push(decodeURIComponent(doc ?? "{}"));
    }
    return docs;
  } catch {
    return null;
  }
}

/** The moto user a key belongs to (GetAccessKeyLastUsed names it), or null for moto's default "testing" key. */
async function keyUser(motoUrl: string, keyId: string): Promise<string | null> {
  const m = await import("@aws-sdk/client-iam");
  const c = new m.IAMClient({
    region: "us-east-1",
    endpoint: motoUrl,
    credentials: { accessKeyId: "testing", secretAccessKey: "testing" },
  });
  try {
    return (await c.send(new m.GetAccessKeyLastUsedCommand({ AccessKeyId: keyId }))).UserName ?? null;
  } catch {
    return null;
  }
}

async function simulate(motoUrl: string, r: ProxiedRequest, pageSize: number): Promise<Reply> {
  const source = r.params.PolicySourceArn ?? "";
  const account = source.split(":")[4] ?? "123456789012";
  const caller = await keyUser(motoUrl, r.keyId);
  if (caller) {
    const callerArn = `arn:aws:iam::${account}:user/${caller}`;
    const own = (await principalPolicies(motoUrl, callerArn)) ?? [];
    if (decide(own, "iam:SimulatePrincipalPolicy", source, { "aws:username": caller }) !== "allowed")
      return errorReply(
        r,
        403,
        "AccessDenied",
        `User: ${callerArn} is not authorized to perform: iam:SimulatePrincipalPolicy on resource: ${source}`,
      );
  }
  const docs = await principalPolicies(motoUrl, source);
  if (docs === null) return errorReply(r, 404, "NoSuchEntity", `The entity ${source} cannot be found.`);
  const actions = Object.entries(r.params)
    .filter(([k]) => /^ActionNames\.member\.\d+$/.test(k))
    .map(([, v]) => v);
  const resources = Object.entries(r.params)
    .filter(([k]) => /^ResourceArns\.member\.\d+$/.test(k))
    .map(([, v]) => v);
  const vars = { "aws:username": source.split("/").pop() ?? "" };
  const results = actions.flatMap((a) =>
    (resources.length ? resources : ["*"]).map((res) => {
      const d = decide(docs, a, res, vars);
      return `<member><EvalActionName>${a}</EvalActionName><EvalResourceName>${escapeXml(res)}</EvalResourceName><EvalDecision>${d}</EvalDecision><MatchedStatements/><MissingContextValues/></member>`;
    }),
  );
  // Pages of at most MaxItems (default 100), as IAM answers; smaller when the proxy pages.
  const max = Math.min(Number(r.params.MaxItems ?? 100), pageSize > 0 ? pageSize : 100);
  const from = Number(r.params.Marker ?? 0);
  const slice = results.slice(from, from + max);
  const more = from + max < results.length;
  const body =
    `<SimulatePrincipalPolicyResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><SimulatePrincipalPolicyResult>` +
    `<IsTruncated>${more}</IsTruncated>${more ? `<Marker>${from + max}</Marker>` : ""}` +
    `<EvaluationResults>${slice.join("")}</EvaluationResults></SimulatePrincipalPolicyResult>` +
    `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></SimulatePrincipalPolicyResponse>`;
  return { status: 200, type: "text/xml", body };
}

/**
 * moto and the proxy for one describe block: started once with an isolated AWS environment; before
 * each test moto is reset and the proxy forgets everything, then gets `lags` (default: none).
 */
export function useAwsProxy(lags: Partial<Lags> = {}): { readonly moto: Moto; readonly proxy: AwsProxy } {
  const state = {} as { moto: Moto; proxy: AwsProxy };
  let restoreEnv: (() => void) | undefined;
  beforeAll(async () => {
    restoreEnv = isolateAwsEnv();
    state.moto = await startMoto();
    state.proxy = await startAwsProxy(state.moto.url);
  }, 60_000);
  afterAll(async () => {
    await state.proxy?.close();
    await state.moto?.stop();
    restoreEnv?.();
  });
  beforeEach(async () => {
    await state.moto.reset();
    state.proxy.reset();
    state.proxy.lags = { ...NO_LAGS, ...lags };
  });
  return state;
}
