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
import { AuthError, CloudError, UsageError } from "../errors.js";

export type Env = Record<string, string | undefined>;

export interface AwsOptions {
  /** --region */
  region?: string | undefined;
  /** --aws-profile; without it the SDK honours AWS_PROFILE itself. */
  profile?: string | undefined;
  env: Env;
  /** Endpoint for every service (tests); beats AWS_ENDPOINT_URL*. */
  endpoint?: string | undefined;
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
}

export interface EcsApi {
  describeClusters(names: string[]): Promise<Ecs.Cluster[]>;
  createCluster(input: Ecs.CreateClusterCommandInput): Promise<Ecs.Cluster>;
}

export interface EcrApi {
  describeRepository(name: string): Promise<Ecr.Repository | null>;
  createRepository(input: Ecr.CreateRepositoryCommandInput): Promise<Ecr.Repository>;
  /** Docker credentials for the account's registry. Secret: never log `password`. */
  authorizationToken(): Promise<{ username: string; password: string; proxyEndpoint: string }>;
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
}

/** Codes meaning the credentials themselves are missing or bad (exit 4). */
const AUTH_CODES = new Set([
  "CredentialsProviderError",
  "InvalidClientTokenId",
  "SignatureDoesNotMatch",
  "ExpiredToken",
  "ExpiredTokenException",
  "UnrecognizedClientException",
  "AuthFailure",
  "InvalidAccessKeyId",
]);
const DENIED_CODES = new Set(["AccessDenied", "AccessDeniedException", "UnauthorizedOperation"]);
const AUTH_HINT =
  "Configure AWS credentials as for the AWS CLI: `aws configure` / `aws sso login`, AWS_PROFILE or --aws-profile, " +
  "or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.";

/** The AWS error code of an SDK error (`err.name`, or a network code such as ECONNREFUSED). */
export function awsErrorCode(err: unknown): string | undefined {
  if (err instanceof CloudError) return err.code;
  if (typeof err !== "object" || err === null) return undefined;
  const { name, code } = err as { name?: unknown; code?: unknown };
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return code;
  return typeof name === "string" ? name : undefined;
}

/** Converts an SDK failure into a wp error with the AWS code; `op` is e.g. "iam:CreateRole". */
export function toCloudError(op: string, err: unknown): Error {
  if (err instanceof CloudError || err instanceof AuthError) return err;
  const code = awsErrorCode(err) ?? "Unknown";
  const message = err instanceof Error ? err.message : String(err);
  if (AUTH_CODES.has(code)) return new AuthError(`AWS rejected the request ${op}: ${message} (${code}).`, AUTH_HINT);
  if (DENIED_CODES.has(code)) {
    return new CloudError(
      `AWS denied ${op}: ${message}`,
      code,
      "Use an identity allowed to manage IAM, EC2, ECS and ECR in this account.",
    );
  }
  return new CloudError(`AWS ${op} failed: ${message} (${code})`, code);
}

async function call<T>(op: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toCloudError(op, err);
  }
}

/** Like `call`, but the listed codes mean "not there" and give null. */
async function find<T>(op: string, missing: string[], fn: () => Promise<T>): Promise<T | null> {
  try {
    return await fn();
  } catch (err) {
    if (missing.includes(awsErrorCode(err) ?? "")) return null;
    throw toCloudError(op, err);
  }
}

/** Collects every page of a paginated call. */
async function pages<T>(fetch: (token?: string) => Promise<{ items: T[] | undefined; next: string | undefined }>) {
  const all: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetch(token);
    all.push(...(page.items ?? []));
    token = page.next;
  } while (token);
  return all;
}

/** `AWS_ENDPOINT_URL_<SERVICE>` then `AWS_ENDPOINT_URL`, as the AWS CLI reads them from `env`. */
export function endpointFromEnv(env: Env, service: string): string | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.toLowerCase() === "true") return undefined;
  return env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`] || env.AWS_ENDPOINT_URL || undefined;
}

function must<T>(value: T | undefined, what: string): T {
  if (value === undefined || value === null) throw new CloudError(`AWS returned no ${what}.`);
  return value;
}

const decode = (doc: string | undefined): string => decodeURIComponent(must(doc, "policy document"));

/**
 * Resolves the region (--region → AWS_REGION → AWS_DEFAULT_REGION → the profile's `region`) and
 * returns lazily built clients. Throws a UsageError naming --region/AWS_REGION when there is none.
 */
export async function resolveAws(o: AwsOptions): Promise<AwsSession> {
  // The SDK warns once per process on Node 20; wp pins SDK versions, so the warning is noise.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const profile = o.profile ? { profile: o.profile } : {};
  let region = o.region || o.env.AWS_REGION || o.env.AWS_DEFAULT_REGION;
  if (!region) {
    const { STSClient } = await import("@aws-sdk/client-sts");
    // The SDK's own config loader reads the shared config files for the (given or AWS_PROFILE) profile.
    region = await new STSClient(profile).config.region().catch(() => undefined);
  }
  if (!region) {
    throw new UsageError(
      "No AWS region is configured.",
      "Pass --region, set AWS_REGION, or set `region` in your AWS profile.",
    );
  }
  const resolved = region;
  const config = (service: string) => {
    const endpoint = o.endpoint ?? endpointFromEnv(o.env, service);
    return { region: resolved, ...profile, ...(endpoint ? { endpoint } : {}) };
  };
  const once = <T>(make: () => Promise<T>) => {
    let p: Promise<T> | undefined;
    return () => {
      p ??= make();
      return p;
    };
  };
  const identity = once(async () => {
    const m = await import("@aws-sdk/client-sts");
    const c = new m.STSClient(config("sts"));
    const out = await call("sts:GetCallerIdentity", () => c.send(new m.GetCallerIdentityCommand({})));
    return { accountId: must(out.Account, "account id"), arn: must(out.Arn, "caller ARN") };
  });
  return {
    region: resolved,
    ...(o.profile ? { profile: o.profile } : {}),
    identity,
    iam: once(async () => iamApi(await import("@aws-sdk/client-iam"), config("iam"))),
    ec2: once(async () => ec2Api(await import("@aws-sdk/client-ec2"), config("ec2"))),
    ecs: once(async () => ecsApi(await import("@aws-sdk/client-ecs"), config("ecs"))),
    ecr: once(async () => ecrApi(await import("@aws-sdk/client-ecr"), config("ecr"))),
  };
}

type ClientConfig = { region: string; profile?: string; endpoint?: string };

function iamApi(m: typeof Iam, cfg: ClientConfig): IamApi {
  const c = new m.IAMClient(cfg);
  const noSuch = ["NoSuchEntity", "NoSuchEntityException"];
  return {
    getRole: async (RoleName) =>
      (await find("iam:GetRole", noSuch, () => c.send(new m.GetRoleCommand({ RoleName }))))?.Role ?? null,
    createRole: async (input) =>
      must((await call("iam:CreateRole", () => c.send(new m.CreateRoleCommand(input)))).Role, "role"),
    attachRolePolicy: async (RoleName, PolicyArn) => {
      await call("iam:AttachRolePolicy", () => c.send(new m.AttachRolePolicyCommand({ RoleName, PolicyArn })));
    },
    listAttachedRolePolicies: async (RoleName) =>
      (
        await pages(async (Marker) => {
          const out = await call("iam:ListAttachedRolePolicies", () =>
            c.send(new m.ListAttachedRolePoliciesCommand({ RoleName, Marker })),
          );
          return { items: out.AttachedPolicies, next: out.IsTruncated ? out.Marker : undefined };
        })
      ).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])),
    getRolePolicy: async (RoleName, PolicyName) => {
      const out = await find("iam:GetRolePolicy", noSuch, () =>
        c.send(new m.GetRolePolicyCommand({ RoleName, PolicyName })),
      );
      return out ? decode(out.PolicyDocument) : null;
    },
    putRolePolicy: async (RoleName, PolicyName, PolicyDocument) => {
      await call("iam:PutRolePolicy", () =>
        c.send(new m.PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument })),
      );
    },
    getUser: async (UserName) =>
      (await find("iam:GetUser", noSuch, () => c.send(new m.GetUserCommand({ UserName }))))?.User ?? null,
    createUser: async (input) =>
      must((await call("iam:CreateUser", () => c.send(new m.CreateUserCommand(input)))).User, "user"),
    listLocalPolicies: () =>
      pages(async (Marker) => {
        const out = await call("iam:ListPolicies", () => c.send(new m.ListPoliciesCommand({ Scope: "Local", Marker })));
        return { items: out.Policies, next: out.IsTruncated ? out.Marker : undefined };
      }),
    getPolicyDocument: async (PolicyArn, VersionId) => {
      const out = await call("iam:GetPolicyVersion", () =>
        c.send(new m.GetPolicyVersionCommand({ PolicyArn, VersionId })),
      );
      return decode(out.PolicyVersion?.Document);
    },
    listPolicyVersions: (PolicyArn) =>
      pages(async (Marker) => {
        const out = await call("iam:ListPolicyVersions", () =>
          c.send(new m.ListPolicyVersionsCommand({ PolicyArn, Marker })),
        );
        return { items: out.Versions, next: out.IsTruncated ? out.Marker : undefined };
      }),
    createPolicy: async (input) =>
      must((await call("iam:CreatePolicy", () => c.send(new m.CreatePolicyCommand(input)))).Policy, "policy"),
    createPolicyVersion: async (PolicyArn, PolicyDocument) => {
      await call("iam:CreatePolicyVersion", () =>
        c.send(new m.CreatePolicyVersionCommand({ PolicyArn, PolicyDocument, SetAsDefault: true })),
      );
    },
    deletePolicyVersion: async (PolicyArn, VersionId) => {
      await call("iam:DeletePolicyVersion", () => c.send(new m.DeletePolicyVersionCommand({ PolicyArn, VersionId })));
    },
    listAttachedUserPolicies: async (UserName) =>
      (
        await pages(async (Marker) => {
          const out = await call("iam:ListAttachedUserPolicies", () =>
            c.send(new m.ListAttachedUserPoliciesCommand({ UserName, Marker })),
          );
          return { items: out.AttachedPolicies, next: out.IsTruncated ? out.Marker : undefined };
        })
      ).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])),
    attachUserPolicy: async (UserName, PolicyArn) => {
      await call("iam:AttachUserPolicy", () => c.send(new m.AttachUserPolicyCommand({ UserName, PolicyArn })));
    },
    listAccessKeys: (UserName) =>
      pages(async (Marker) => {
        const out = await call("iam:ListAccessKeys", () => c.send(new m.ListAccessKeysCommand({ UserName, Marker })));
        return { items: out.AccessKeyMetadata, next: out.IsTruncated ? out.Marker : undefined };
      }),
    createAccessKey: async (UserName) => {
      const out = await call("iam:CreateAccessKey", () => c.send(new m.CreateAccessKeyCommand({ UserName })));
      const key = must(out.AccessKey, "access key");
      return {
        accessKeyId: must(key.AccessKeyId, "access key id"),
        secretAccessKey: must(key.SecretAccessKey, "secret access key"),
      };
    },
    deleteAccessKey: async (UserName, AccessKeyId) => {
      await call("iam:DeleteAccessKey", () => c.send(new m.DeleteAccessKeyCommand({ UserName, AccessKeyId })));
    },
  };
}

function ec2Api(m: typeof Ec2, cfg: ClientConfig): Ec2Api {
  const c = new m.EC2Client(cfg);
  return {
    describeVpcs: (Filters) =>
      pages(async (NextToken) => {
        const out = await call("ec2:DescribeVpcs", () => c.send(new m.DescribeVpcsCommand({ Filters, NextToken })));
        return { items: out.Vpcs, next: out.NextToken };
      }),
    createVpc: async (input) =>
      must((await call("ec2:CreateVpc", () => c.send(new m.CreateVpcCommand(input)))).Vpc, "VPC"),
    availabilityZones: async () => {
      const filter = [{ Name: "state", Values: ["available"] }];
      const out = await call("ec2:DescribeAvailabilityZones", () =>
        c.send(new m.DescribeAvailabilityZonesCommand({ Filters: filter })),
      );
      return (out.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : []));
    },
    describeInternetGateways: (Filters) =>
      pages(async (NextToken) => {
        const out = await call("ec2:DescribeInternetGateways", () =>
          c.send(new m.DescribeInternetGatewaysCommand({ Filters, NextToken })),
        );
        return { items: out.InternetGateways, next: out.NextToken };
      }),
    createInternetGateway: async (input) =>
      must(
        (await call("ec2:CreateInternetGateway", () => c.send(new m.CreateInternetGatewayCommand(input))))
          .InternetGateway?.InternetGatewayId,
        "internet gateway id",
      ),
    attachInternetGateway: async (InternetGatewayId, VpcId) => {
      await call("ec2:AttachInternetGateway", () =>
        c.send(new m.AttachInternetGatewayCommand({ InternetGatewayId, VpcId })),
      );
    },
    describeSubnets: (Filters) =>
      pages(async (NextToken) => {
        const out = await call("ec2:DescribeSubnets", () =>
          c.send(new m.DescribeSubnetsCommand({ Filters, NextToken })),
        );
        return { items: out.Subnets, next: out.NextToken };
      }),
    createSubnet: async (input) =>
      must(
        (await call("ec2:CreateSubnet", () => c.send(new m.CreateSubnetCommand(input)))).Subnet?.SubnetId,
        "subnet id",
      ),
    describeRouteTables: (Filters) =>
      pages(async (NextToken) => {
        const out = await call("ec2:DescribeRouteTables", () =>
          c.send(new m.DescribeRouteTablesCommand({ Filters, NextToken })),
        );
        return { items: out.RouteTables, next: out.NextToken };
      }),
    createRouteTable: async (input) =>
      must(
        (await call("ec2:CreateRouteTable", () => c.send(new m.CreateRouteTableCommand(input)))).RouteTable
          ?.RouteTableId,
        "route table id",
      ),
    createRoute: async (RouteTableId, DestinationCidrBlock, GatewayId) => {
      await call("ec2:CreateRoute", () =>
        c.send(new m.CreateRouteCommand({ RouteTableId, DestinationCidrBlock, GatewayId })),
      );
    },
    associateRouteTable: async (RouteTableId, SubnetId) => {
      await call("ec2:AssociateRouteTable", () => c.send(new m.AssociateRouteTableCommand({ RouteTableId, SubnetId })));
    },
    describeSecurityGroups: (Filters) =>
      pages(async (NextToken) => {
        const out = await call("ec2:DescribeSecurityGroups", () =>
          c.send(new m.DescribeSecurityGroupsCommand({ Filters, NextToken })),
        );
        return { items: out.SecurityGroups, next: out.NextToken };
      }),
    createSecurityGroup: async (input) =>
      must(
        (await call("ec2:CreateSecurityGroup", () => c.send(new m.CreateSecurityGroupCommand(input)))).GroupId,
        "security group id",
      ),
  };
}

function ecsApi(m: typeof Ecs, cfg: ClientConfig): EcsApi {
  const c = new m.ECSClient(cfg);
  return {
    describeClusters: async (clusters) =>
      (await call("ecs:DescribeClusters", () => c.send(new m.DescribeClustersCommand({ clusters })))).clusters ?? [],
    createCluster: async (input) =>
      must((await call("ecs:CreateCluster", () => c.send(new m.CreateClusterCommand(input)))).cluster, "cluster"),
  };
}

function ecrApi(m: typeof Ecr, cfg: ClientConfig): EcrApi {
  const c = new m.ECRClient(cfg);
  return {
    describeRepository: async (name) => {
      const out = await find("ecr:DescribeRepositories", ["RepositoryNotFoundException"], () =>
        c.send(new m.DescribeRepositoriesCommand({ repositoryNames: [name] })),
      );
      return out?.repositories?.[0] ?? null;
    },
    createRepository: async (input) =>
      must(
        (await call("ecr:CreateRepository", () => c.send(new m.CreateRepositoryCommand(input)))).repository,
        "repository",
      ),
    authorizationToken: async () => {
      const out = await call("ecr:GetAuthorizationToken", () => c.send(new m.GetAuthorizationTokenCommand({})));
      const data = must(out.authorizationData?.[0], "authorization data");
      const decoded = Buffer.from(must(data.authorizationToken, "authorization token"), "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      if (colon < 0) throw new CloudError("ECR returned a malformed authorization token.", "MalformedToken");
      return {
        username: decoded.slice(0, colon),
        password: decoded.slice(colon + 1),
        proxyEndpoint: must(data.proxyEndpoint, "registry endpoint"),
      };
    },
  };
}
