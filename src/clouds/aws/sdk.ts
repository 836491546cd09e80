/**
 * Narrow adapters over AWS SDK v3: only the calls wp makes. Each SDK is imported lazily so that
 * `wp --help` loads none of them. Errors become CloudError/AuthError carrying the AWS error code;
 * callers decide by code, never by message text. Credentials are never read or logged here: the
 * SDK's default chain (env, profile, SSO, process, web identity, IMDS) supplies them.
 */
import type * as Ec2 from "@aws-sdk/client-ec2";
import type * as Ecr from "@aws-sdk/client-ecr";
import type * as Ecs from "@aws-sdk/client-ecs";
import type * as Iam from "@aws-sdk/client-iam";
import { UsageError } from "../../errors.js";
import { calls, must } from "./call.js";
import { checkProfile, checkRegion } from "./config.js";

export { awsErrorCode, toCloudError } from "./call.js";

export type Env = Record<string, string | undefined>;

export interface AwsOptions {
  /** --region */
  region?: string | undefined;
  /** --aws-profile; without it the SDK honours AWS_PROFILE itself. */
  profile?: string | undefined;
  env: Env;
  /** Endpoint for every service (tests); beats AWS_ENDPOINT_URL*. */
  endpoint?: string | undefined;
  /** Where the SDK's own warnings go, as one line each (default: dropped). */
  warn?: ((line: string) => void) | undefined;
  /** Where the SDK's error records go (`--debug` only; the failure itself reaches wp as the thrown error). */
  debug?: ((line: string) => void) | undefined;
  /** The progress line: says when a call is retried (throttling) and why. */
  progress?: ((line: string) => void) | undefined;
  /** Static credentials (a block's key) instead of the SDK's default chain; never logged. */
  credentials?: { accessKeyId: string; secretAccessKey: string } | undefined;
}

export interface Identity {
  accountId: string;
  arn: string;
}

export interface IamApi {
  getRole(name: string): Promise<Iam.Role | null>;
  createRole(input: Iam.CreateRoleCommandInput): Promise<Iam.Role>;
  attachRolePolicy(role: string, policyArn: string): Promise<void>;
  listAttachedRolePolicies(role: string): Promise<string[]>;
  /** Inline policy document (decoded JSON text), or null when absent. */
  getRolePolicy(role: string, policyName: string): Promise<string | null>;
  putRolePolicy(role: string, policyName: string, document: string): Promise<void>;
  getUser(name: string): Promise<Iam.User | null>;
  createUser(input: Iam.CreateUserCommandInput): Promise<Iam.User>;
  /** Customer-managed policies (Scope=Local), all pages. */
  listLocalPolicies(): Promise<Iam.Policy[]>;
  /** The document (decoded JSON text) of one policy version. */
  getPolicyDocument(policyArn: string, versionId: string): Promise<string>;
  listPolicyVersions(policyArn: string): Promise<Iam.PolicyVersion[]>;
  createPolicy(input: Iam.CreatePolicyCommandInput): Promise<Iam.Policy>;
  createPolicyVersion(policyArn: string, document: string): Promise<void>;
  deletePolicyVersion(policyArn: string, versionId: string): Promise<void>;
  listAttachedUserPolicies(user: string): Promise<string[]>;
  attachUserPolicy(user: string, policyArn: string): Promise<void>;
  listAccessKeys(user: string): Promise<Iam.AccessKeyMetadata[]>;
  createAccessKey(user: string): Promise<{ accessKeyId: string; secretAccessKey: string }>;
  deleteAccessKey(user: string, accessKeyId: string): Promise<void>;
  detachUserPolicy(user: string, policyArn: string): Promise<void>;
  deletePolicy(policyArn: string): Promise<void>;
  listPolicyTags(policyArn: string): Promise<Iam.Tag[]>;
  deleteUser(user: string): Promise<void>;
  detachRolePolicy(role: string, policyArn: string): Promise<void>;
  deleteRolePolicy(role: string, policyName: string): Promise<void>;
  listRolePolicies(role: string): Promise<string[]>;
  deleteRole(role: string): Promise<void>;
  /** iam:SimulatePrincipalPolicy: each action's decision ("allowed", "implicitDeny", "explicitDeny") on `resource`, all pages. */
  simulate(source: string, actions: string[], resource: string): Promise<Array<{ action: string; decision: string }>>;
}

export interface Ec2Api {
  describeVpcs(filters?: Ec2.Filter[]): Promise<Ec2.Vpc[]>;
  createVpc(input: Ec2.CreateVpcCommandInput): Promise<Ec2.Vpc>;
  availabilityZones(): Promise<string[]>;
  describeInternetGateways(filters: Ec2.Filter[]): Promise<Ec2.InternetGateway[]>;
  createInternetGateway(input: Ec2.CreateInternetGatewayCommandInput): Promise<string>;
  attachInternetGateway(igwId: string, vpcId: string): Promise<void>;
  describeSubnets(filters: Ec2.Filter[]): Promise<Ec2.Subnet[]>;
  createSubnet(input: Ec2.CreateSubnetCommandInput): Promise<string>;
  describeRouteTables(filters: Ec2.Filter[]): Promise<Ec2.RouteTable[]>;
  createRouteTable(input: Ec2.CreateRouteTableCommandInput): Promise<string>;
  createRoute(routeTableId: string, cidr: string, igwId: string): Promise<void>;
  associateRouteTable(routeTableId: string, subnetId: string): Promise<void>;
  describeSecurityGroups(filters: Ec2.Filter[]): Promise<Ec2.SecurityGroup[]>;
  createSecurityGroup(input: Ec2.CreateSecurityGroupCommandInput): Promise<string>;
  deleteSecurityGroup(groupId: string): Promise<void>;
  deleteSubnet(subnetId: string): Promise<void>;
  disassociateRouteTable(associationId: string): Promise<void>;
  deleteRouteTable(routeTableId: string): Promise<void>;
  detachInternetGateway(igwId: string, vpcId: string): Promise<void>;
  deleteInternetGateway(igwId: string): Promise<void>;
  deleteVpc(vpcId: string): Promise<void>;
}

export interface EcsApi {
  describeClusters(names: string[]): Promise<Ecs.Cluster[]>;
  createCluster(input: Ecs.CreateClusterCommandInput): Promise<Ecs.Cluster>;
  deleteCluster(name: string): Promise<void>;
  registerTaskDefinition(input: Ecs.RegisterTaskDefinitionCommandInput): Promise<Ecs.TaskDefinition>;
  deregisterTaskDefinition(arn: string): Promise<void>;
  runTask(input: Ecs.RunTaskCommandInput): Promise<{ tasks: Ecs.Task[]; failures: Ecs.Failure[] }>;
  describeTasks(cluster: string, arns: string[]): Promise<Ecs.Task[]>;
  stopTask(cluster: string, arn: string, reason: string): Promise<void>;
  /** ACTIVE task definition ARNs of a family. */
  listTaskDefinitions(family: string): Promise<string[]>;
  /** Task ARNs on a cluster by starter (desired status RUNNING). */
  listTasks(cluster: string, startedBy: string): Promise<string[]>;
  /** Tags of a resource by ARN. */
  listTags(arn: string): Promise<Array<{ key?: string | undefined; value?: string | undefined }>>;
}

export interface EcrApi {
  describeRepository(name: string): Promise<Ecr.Repository | null>;
  createRepository(input: Ecr.CreateRepositoryCommandInput): Promise<Ecr.Repository>;
  /** Docker credentials for the account's registry. Secret: never log `password`. */
  authorizationToken(): Promise<{ username: string; password: string; proxyEndpoint: string }>;
  /** How many images the repository holds. */
  imageCount(name: string): Promise<number>;
  deleteRepository(name: string, force: boolean): Promise<void>;
  listTags(arn: string): Promise<Array<{ Key?: string | undefined; Value?: string | undefined }>>;
}

export interface LogsApi {
  /** Whether the log group exists (DescribeLogGroups by prefix, then the exact name). */
  groupExists(name: string): Promise<boolean>;
  /** The stream's last `limit` messages, oldest first; null when the group or stream does not exist. */
  lastEvents(group: string, stream: string, limit: number): Promise<string[] | null>;
}

export interface AwsSession {
  region: string;
  /** Profile given with --aws-profile (AWS_PROFILE is left to the SDK). */
  profile?: string;
  identity(): Promise<Identity>;
  iam(): Promise<IamApi>;
  ec2(): Promise<Ec2Api>;
  ecs(): Promise<EcsApi>;
  ecr(): Promise<EcrApi>;
  logs(): Promise<LogsApi>;
  /** The account's VPCs-per-region quota from Service Quotas; null when it cannot be read (e.g. no permission). */
  vpcQuota(): Promise<number | null>;
}

/** `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL`, as the AWS CLI reads them from `env`. */
export function endpointFromEnv(env: Env, service: string): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true") return undefined;
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase().replace(/-/g, "_")}`] || env.AWS_ENDPOINT_URL || undefined;
}

/**
 * The region (--region → AWS_REGION → AWS_DEFAULT_REGION → the profile's `region`), checked against
 * AWS's partitions, and the profile (--aws-profile → AWS_PROFILE), checked against the shared files.
 * Throws a one-line UsageError for a missing or unknown one; reads files only, no request.
 */
export async function resolveRegion(o: AwsOptions): Promise<string> {
  const named = o.profile
    ? ["--aws-profile", o.profile]
    : o.env.AWS_PROFILE
      ? ["AWS_PROFILE", o.env.AWS_PROFILE]
      : null;
  if (named?.[1]) checkProfile(named[1], named[0] ?? "", o.env);
  const given: Array<[string, string | undefined]> = [
    ["--region", o.region],
    ["AWS_REGION", o.env.AWS_REGION],
    ["AWS_DEFAULT_REGION", o.env.AWS_DEFAULT_REGION],
  ];
  let [source, region] = given.find(([, v]) => v) ?? ["", undefined];
  if (!region) {
    const { STSClient } = await import("@aws-sdk/client-sts");
    // The SDK's own config loader reads the shared config files for the (given or AWS_PROFILE) profile.
    region = await new STSClient(o.profile ? { profile: o.profile } : {}).config.region().catch(() => undefined);
    source = `the region of AWS profile ${named?.[1] ?? "default"}`;
  }
  if (!region) {
    throw new UsageError(
      "No AWS region is configured.",
      "Pass --region, set AWS_REGION, or set `region` in your AWS profile.",
    );
  }
  checkRegion(region, source);
  return region;
}

/** Resolves the region (see resolveRegion) and returns lazily built clients. */
export async function resolveAws(o: AwsOptions): Promise<AwsSession> {
  // The SDK warns once per process on Node 20; wp pins SDK versions, so the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const profile = o.credentials ? { credentials: o.credentials } : o.profile ? { profile: o.profile } : {};
  const region = await resolveRegion(o.credentials ? { ...o, profile: undefined } : o);
  const resolved = region;
  const logger = sdkLogger(o.warn, o.debug);
  // wp retries itself (call.ts): throttling always, unknown outcomes only for calls that may be repeated —
  // the SDK's own retry would repeat a CreateAccessKey whose answer was lost, making a second key.
  const config = (service: string) => {
    const endpoint = o.endpoint ?? endpointFromEnv(o.env, service);
    return { region: resolved, ...profile, ...(endpoint ? { endpoint } : {}), logger, maxAttempts: 1 };
  };
  const k = calls(o.progress);
  // Memoised answers; a failure is not kept, so a later call asks again (a new key starts to work).
  const once = <T>(make: () => Promise<T>) => {
    let p: Promise<T> | undefined;
    return () => {
      p ??= make().catch((err: unknown) => {
        p = undefined;
        throw err;
      });
      return p;
    };
  };
  const identity = once(async () => {
    const m = await import("@aws-sdk/client-sts");
    const c = new m.STSClient(config("sts"));
    const out = await k.call("sts:GetCallerIdentity", () => c.send(new m.GetCallerIdentityCommand({})));
    return { accountId: must(out.Account, "account id"), arn: must(out.Arn, "caller ARN") };
  });
  return {
    region: resolved,
    ...(o.profile ? { profile: o.profile } : {}),
    identity,
    iam: once(async () => (await import("./iam-api.js")).iamApi(await import("@aws-sdk/client-iam"), config("iam"), k)),
    ec2: once(async () => (await import("./ec2-api.js")).ec2Api(await import("@aws-sdk/client-ec2"), config("ec2"), k)),
    ecs: once(async () =>
      (await import("./ecs-ecr-api.js")).ecsApi(await import("@aws-sdk/client-ecs"), config("ecs"), k),
    ),
    ecr: once(async () =>
      (await import("./ecs-ecr-api.js")).ecrApi(await import("@aws-sdk/client-ecr"), config("ecr"), k),
    ),
    logs: once(async () =>
      (await import("./logs-api.js")).logsApi(
        await import("@aws-sdk/client-cloudwatch-logs"),
        config("cloudwatch-logs"),
        k,
      ),
    ),
    vpcQuota: once(async () => {
      const m = await import("@aws-sdk/client-service-quotas");
      const c = new m.ServiceQuotasClient(config("service-quotas"));
      // A read whose failure only means "use AWS's default": no permission is common and harmless here.
      const out = await c
        .send(new m.GetServiceQuotaCommand({ ServiceCode: "vpc", QuotaCode: VPC_QUOTA_CODE }))
        .catch(() => undefined);
      return out?.Quota?.Value ?? null;
    }),
  };
}

/** Service Quotas code of "VPCs per Region". */
const VPC_QUOTA_CODE = "L-F678F1CE";

export type ClientConfig = {
  region: string;
  profile?: string;
  endpoint?: string;
  logger: SdkLogger;
  maxAttempts: number;
};

interface SdkLogger {
  debug(...content: unknown[]): void;
  info(...content: unknown[]): void;
  warn(...content: unknown[]): void;
  error(...content: unknown[]): void;
}

/**
 * The SDK logs through this (never to the console): warnings become one escaped line; its records of
 * failed calls (JSON with client, command and error) only with --debug, as wp reports the failure
 * itself in one line; the rest is dropped.
 */
export function sdkLogger(
  warn: ((line: string) => void) | undefined,
  debug?: ((line: string) => void) | undefined,
): SdkLogger {
  const line = (content: unknown[]) => {
    const text = content.map((c) => (c instanceof Error ? c.message : typeof c === "string" ? c : JSON.stringify(c)));
    return `AWS SDK: ${text.join(" ").split("\n")[0]?.slice(0, 300) ?? ""}`;
  };
  return {
    debug: () => {},
    info: () => {},
    warn: (...c) => warn?.(line(c)),
    error: (...c) => debug?.(line(c)),
  };
}
