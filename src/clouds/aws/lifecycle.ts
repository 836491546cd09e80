/**
 * The ECS pool's life: status of every resource the pool depends on (checked with the caller's
 * AWS identity, and the block's key checked as the block's own identity), the teardown plan in
 * dependency order, and key rotation through the CredentialGuard.
 */

import type { CredentialSpec } from "../../engine/credential.js";
import {
  blockRefOf,
  credentialsBlockTeardown,
  decideTeardown,
  dockerLoginItem,
  type Lifecycle,
  type LifecycleInput,
  type RotateResult,
  type StatusItem,
  stringDefault,
  type TeardownItem,
} from "../../engine/lifecycle-types.js";
import type { RecordResource } from "../../engine/record.js";
import { CloudError, UsageError, WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { storedLogin } from "../docker.js";
import {
  BLOCK_TYPE,
  defaultNames,
  type EcsContext,
  EXECUTION_ROLE,
  EXECUTION_ROLE_LOGS_POLICY,
  EXECUTION_ROLE_POLICY_ARN,
  MANAGER,
  MAX_ACCESS_KEYS,
  TAG_MANAGER,
} from "./names.js";
import { cidrOf, inspectNetwork, networkGaps } from "./network.js";
import { EXECUTION_LOG_ACTIONS, missingActions, missingEcsPolicyParts } from "./policy.js";
import { type AwsSession, awsErrorCode, resolveAws } from "./sdk.js";

const NO_SUCH = ["NoSuchEntity", "NoSuchEntityException"];
const gone = (codes: string[]) => (err: unknown) => {
  if (!codes.includes(awsErrorCode(err) ?? "")) throw err;
};

type Tags = Array<{ Key?: string | undefined; Value?: string | undefined }> | undefined;
const wpTagged = (tags: Tags) => tags?.some((t) => t.Key === TAG_MANAGER && t.Value === MANAGER) ?? false;

export function ecsLifecycle(input: LifecycleInput): Lifecycle {
  const { pool, record } = input;
  const entry = (step: string): RecordResource | undefined => record?.record.resources.find((r) => r.step === step);
  const defaults = defaultNames(pool.name);
  const roleArn = stringDefault(pool, "execution_role_arn") ?? entry("aws.execution-role")?.id;
  const names = {
    iamUser: entry("aws.iam-user")?.name ?? defaults.iamUser,
    iamPolicy: entry("aws.iam-policy")?.name ?? defaults.iamPolicy,
    cluster: stringDefault(pool, "cluster") ?? entry("aws.ecs-cluster")?.name ?? defaults.cluster,
    role: roleArn?.split("/").pop() ?? EXECUTION_ROLE,
    repository: entry("aws.ecr-repository")?.name ?? defaults.repository,
    vpc: entry("aws.vpc")?.name ?? defaults.vpc,
  };
  const vpcId = stringDefault(pool, "vpc_id") ?? (entry("aws.vpc")?.created ? entry("aws.vpc")?.id : undefined);
  const blockData = (input.block?.data ?? {}) as Record<string, unknown>;
  const region =
    (typeof input.flags.region === "string" && input.flags.region) ||
    record?.record.context.region ||
    (typeof blockData.region_name === "string" ? blockData.region_name : undefined);
  const profile = typeof input.flags.awsProfile === "string" ? input.flags.awsProfile : undefined;
  let session: Promise<AwsSession> | undefined;
  const aws = () => {
    session ??= resolveAws({ region, profile, env: input.env, warn: input.note });
    return session;
  };
  const ecsCtx = (): EcsContext => ({
    pool: pool.name,
    names: { ...defaults, iamUser: names.iamUser, iamPolicy: names.iamPolicy, cluster: names.cluster, vpc: names.vpc },
    aws,
    prefect: input.api,
    docker: { env: input.env },
    vpcQuota: undefined,
    guard: input.guard,
  });
  const fix = wpCommand("provision-infra", pool.name);

  /** Other pools that use a resource: by their records (same step and id or name), or by a template value. */
  const usedBy = (step: string, idOrName: string | undefined, templateVar?: string): string[] => {
    if (!idOrName) return [];
    const out = new Set<string>();
    for (const r of input.otherRecords) {
      if (r.record.resources.some((x) => x.step === step && (x.id === idOrName || x.name === idOrName)))
        out.add(r.record.work_pool);
    }
    if (templateVar) {
      for (const p of input.otherPools) if (stringDefault(p, templateVar) === idOrName) out.add(p.name);
    }
    return [...out];
  };

  /** The block's key as its own identity: the user's key list and an STS call made with the key. */
  async function blockKey(): Promise<{ keyId?: string; secret?: string; user: string }> {
    if (!input.block) return { user: names.iamUser };
    const full = await input.api.readBlockDocumentById(input.block.id, true);
    const d = (full?.data ?? {}) as Record<string, unknown>;
    const keyId = typeof d.aws_access_key_id === "string" ? d.aws_access_key_id : undefined;
    const secret = typeof d.aws_secret_access_key === "string" ? d.aws_secret_access_key : undefined;
    return { ...(keyId ? { keyId } : {}), ...(secret ? { secret } : {}), user: names.iamUser };
  }

  async function authenticatesAs(keyId: string, secret: string, userArn: string | undefined): Promise<string | null> {
    const s = await aws();
    try {
      const as = await resolveAws({
        region: s.region,
        env: input.env,
        credentials: { accessKeyId: keyId, secretAccessKey: secret },
      });
      const who = await as.identity();
      if (userArn && who.arn !== userArn) return `authenticates as ${who.arn}, not as ${userArn}`;
      return null;
    } catch (err) {
      return `does not authenticate (${err instanceof Error ? err.message : String(err)})`;
    }
  }

  const created = (step: string, tags: Tags) => entry(step)?.created === true || wpTagged(tags);

  return {
    blockType: BLOCK_TYPE,
    async target() {
      const s = await aws();
      return `AWS account ${(await s.identity()).accountId}, region ${s.region}`;
    },
    async lockScopes() {
      const s = await aws();
      return [`AWS account ${(await s.identity()).accountId}, region ${s.region}`];
    },
    unknowns() {
      if (record) return [];
      return [
        "No provisioning record: which resources wp created for this pool is known only from their tags " +
          `(${TAG_MANAGER}=${MANAGER}); untagged resources count as adopted and are never deleted.`,
        "IAM user, policy and ECR repository names are assumed to be Prefect's defaults.",
      ];
    },

    async status() {
      const s = await aws();
      const [iam, ec2, ecs, ecr] = await Promise.all([s.iam(), s.ec2(), s.ecs(), s.ecr()]);
      const items: StatusItem[] = [];

      const role = await iam.getRole(names.role);
      if (!role?.Arn) items.push({ resource: "IAM role", name: names.role, state: "missing", fix });
      else {
        const [attached, inline] = await Promise.all([
          iam.listAttachedRolePolicies(names.role),
          iam.getRolePolicy(names.role, EXECUTION_ROLE_LOGS_POLICY),
        ]);
        const gaps = [
          !attached.includes(EXECUTION_ROLE_POLICY_ARN) && "AmazonECSTaskExecutionRolePolicy not attached",
          (inline === null || missingActions(inline, EXECUTION_LOG_ACTIONS).length > 0) && "cannot create log groups",
        ].filter((g): g is string => Boolean(g));
        items.push(
          gaps.length
            ? { resource: "IAM role", name: names.role, id: role.Arn, state: "drift", detail: gaps.join("; "), fix }
            : { resource: "IAM role", name: names.role, id: role.Arn, state: "ok" },
        );
      }

      const user = await iam.getUser(names.iamUser);
      items.push(
        user?.Arn
          ? { resource: "IAM user", name: names.iamUser, id: user.Arn, state: "ok" }
          : { resource: "IAM user", name: names.iamUser, state: "missing", fix },
      );

      const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === names.iamPolicy);
      if (!policy?.Arn || !policy.DefaultVersionId) {
        items.push({ resource: "IAM policy", name: names.iamPolicy, state: "missing", fix });
      } else {
        const doc = await iam.getPolicyDocument(policy.Arn, policy.DefaultVersionId);
        const missing = missingEcsPolicyParts(doc, role?.Arn ?? roleArn ?? `role/${names.role}`);
        const attached = user ? (await iam.listAttachedUserPolicies(names.iamUser)).includes(policy.Arn) : false;
        const gaps = [
          missing.length && `default version ${policy.DefaultVersionId} lacks ${missing.join(", ")}`,
          !attached && `not attached to user ${names.iamUser}`,
        ].filter((g): g is string => Boolean(g));
        items.push({
          resource: "IAM policy",
          name: names.iamPolicy,
          id: policy.Arn,
          state: gaps.length ? "drift" : "ok",
          ...(gaps.length ? { detail: gaps.join("; "), fix } : { detail: "policy actions current" }),
        });
      }

      // The block's key, as the block's own identity.
      const blockName = input.block?.name ?? "(none)";
      if (input.block) {
        const key = await blockKey();
        const keys = user ? await iam.listAccessKeys(names.iamUser) : [];
        const listed = keys.find((k) => k.AccessKeyId === key.keyId);
        const rotate = wpCommand("rotate-credentials", pool.name);
        let item: StatusItem;
        if (!key.keyId || !key.secret)
          item = {
            resource: "Access key",
            name: blockName,
            state: "missing",
            detail: "the block holds no key",
            fix: rotate,
          };
        else if (!listed)
          item = {
            resource: "Access key",
            name: blockName,
            id: key.keyId,
            state: "missing",
            detail: `key not found on IAM user ${names.iamUser} (deleted in the cloud?)`,
            fix: rotate,
          };
        else if (listed.Status !== "Active")
          item = {
            resource: "Access key",
            name: blockName,
            id: key.keyId,
            state: "drift",
            detail: `key is ${listed.Status}`,
            fix: rotate,
          };
        else {
          const problem = await authenticatesAs(key.keyId, key.secret, user?.Arn);
          item = problem
            ? {
                resource: "Access key",
                name: blockName,
                id: key.keyId,
                state: "drift",
                detail: `key ${problem}`,
                fix: rotate,
              }
            : {
                resource: "Access key",
                name: blockName,
                id: key.keyId,
                state: "ok",
                detail: `active; sts:GetCallerIdentity as ${user?.Arn ?? names.iamUser}`,
              };
        }
        items.push(item);
      }

      const cluster = (await ecs.describeClusters([names.cluster])).find((c) => c.clusterName === names.cluster);
      items.push(
        cluster?.status === "ACTIVE"
          ? {
              resource: "ECS cluster",
              name: names.cluster,
              ...(cluster.clusterArn ? { id: cluster.clusterArn } : {}),
              state: "ok",
            }
          : {
              resource: "ECS cluster",
              name: names.cluster,
              state: "missing",
              ...(cluster ? { detail: `status ${cluster.status}` } : {}),
              fix,
            },
      );

      if (vpcId) {
        const [vpc] = await ec2.describeVpcs([{ Name: "vpc-id", Values: [vpcId] }]).catch((err: unknown) => {
          if (awsErrorCode(err) === "InvalidVpcID.NotFound") return [];
          throw err;
        });
        if (!vpc) items.push({ resource: "VPC", name: names.vpc, id: vpcId, state: "missing", fix });
        else {
          const gaps = wpTagged(vpc.Tags) ? networkGaps(await inspectNetwork(ec2, vpc, ecsCtx()), ecsCtx()) : [];
          items.push({
            resource: "VPC",
            name: names.vpc,
            id: vpcId,
            state: gaps.length ? "drift" : "ok",
            ...(gaps.length ? { detail: `missing ${gaps.join(", ")}`, fix } : { detail: `CIDR ${cidrOf(vpc)}` }),
          });
        }
      } else {
        const def = (await ec2.describeVpcs([{ Name: "is-default", Values: ["true"] }]))[0];
        items.push(
          def?.VpcId
            ? { resource: "VPC", name: "default VPC", id: def.VpcId, state: "ok", detail: "the template names no VPC" }
            : {
                resource: "VPC",
                name: "default VPC",
                state: "missing",
                detail: "the template names no vpc_id and the region has no default VPC",
                fix,
              },
        );
      }

      const repo = await ecr.describeRepository(names.repository);
      items.push(
        repo?.repositoryUri
          ? { resource: "ECR repository", name: names.repository, id: repo.repositoryUri, state: "ok" }
          : { resource: "ECR repository", name: names.repository, state: "missing", fix },
      );

      const registry =
        repo?.repositoryUri?.split("/")[0] ?? `${(await s.identity()).accountId}.dkr.ecr.${s.region}.amazonaws.com`;
      const login = await storedLogin(registry, { env: input.env });
      items.push(dockerLoginItem(registry, login, fix));
      return items;
    },

    async teardown({ force }) {
      const s = await aws();
      const [iam, ec2, ecs, ecr] = await Promise.all([s.iam(), s.ec2(), s.ecs(), s.ecr()]);
      const items: TeardownItem[] = [];
      const user = await iam.getUser(names.iamUser);
      const keys = user ? await iam.listAccessKeys(names.iamUser) : [];

      // Keys other blocks hold (key ids are not secret), and which pools reference those blocks.
      const heldElsewhere = new Map<string, string>();
      for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
        const id = (d.data as Record<string, unknown> | undefined)?.aws_access_key_id;
        if (d.id !== input.block?.id && typeof id === "string") heldElsewhere.set(id, d.id);
      }
      const userKeyBlocks = new Map<string, string>();
      for (const k of keys) {
        const doc = k.AccessKeyId ? heldElsewhere.get(k.AccessKeyId) : undefined;
        if (doc) userKeyBlocks.set(doc, k.AccessKeyId ?? "");
      }
      const keyHolders = [...userKeyBlocks.keys()].map(
        (doc) => input.otherPools.find((p) => blockRefOf(p, "aws_credentials") === doc)?.name ?? `block ${doc}`,
      );

      // 1. The credentials block and its key.
      if (input.block) {
        const blockCreated = entry("prefect.aws-credentials")?.created === true;
        const key = await blockKey();
        const keyOnUser = keys.some((k) => k.AccessKeyId === key.keyId);
        const revocable = keyOnUser && key.keyId && !heldElsewhere.has(key.keyId) ? key.keyId : "";
        items.push(
          ...credentialsBlockTeardown(
            input,
            "prefect.aws-credentials",
            blockCreated,
            revocable
              ? {
                  reason: `with access key ${revocable}`,
                  revoke: () => iam.deleteAccessKey(names.iamUser, revocable).catch(gone(NO_SUCH)),
                }
              : undefined,
          ),
        );
      }

      const decide = (
        step: string,
        resource: string,
        name: string,
        id: string | undefined,
        exists: boolean,
        isCreated: boolean,
        users: string[],
        run: () => Promise<void>,
        extraKeep?: string,
      ): TeardownItem => {
        const base = { step, resource, name, ...(id ? { id } : {}) };
        return decideTeardown(base, exists, isCreated, users, run, extraKeep);
      };

      // 2. Cluster.
      const cluster = (await ecs.describeClusters([names.cluster])).find(
        (c) => c.clusterName === names.cluster && c.status === "ACTIVE",
      );
      const clusterTags = cluster?.clusterArn ? await ecs.listTags(cluster.clusterArn) : [];
      items.push(
        decide(
          "aws.ecs-cluster",
          "ECS cluster",
          names.cluster,
          cluster?.clusterArn,
          Boolean(cluster),
          created(
            "aws.ecs-cluster",
            clusterTags.map((t) => ({ Key: t.key, Value: t.value })),
          ),
          usedBy("aws.ecs-cluster", names.cluster, "cluster"),
          () => ecs.deleteCluster(names.cluster).catch(gone(["ClusterNotFoundException"])),
        ),
      );

      // 3. Repository (a non-empty one only with --force).
      const repo = await ecr.describeRepository(names.repository);
      const repoTags = repo?.repositoryArn ? await ecr.listTags(repo.repositoryArn) : [];
      const images = repo ? await ecr.imageCount(names.repository) : 0;
      const recordless = input.otherPools.filter(
        (p) => p.type.startsWith("ecs") && !input.otherRecords.some((r) => r.record.work_pool === p.name),
      );
      items.push(
        decide(
          "aws.ecr-repository",
          "ECR repository",
          names.repository,
          repo?.repositoryUri,
          Boolean(repo),
          created("aws.ecr-repository", repoTags),
          [...usedBy("aws.ecr-repository", repo?.repositoryUri), ...recordless.map((p) => p.name)],
          () => ecr.deleteRepository(names.repository, force).catch(gone(["RepositoryNotFoundException"])),
          images > 0 && !force ? `holds ${images} image${images === 1 ? "" : "s"} (--force deletes them)` : undefined,
        ),
      );

      // 4. VPC and its network (never the default VPC).
      if (vpcId) {
        const [vpc] = await ec2.describeVpcs([{ Name: "vpc-id", Values: [vpcId] }]).catch((err: unknown) => {
          if (awsErrorCode(err) === "InvalidVpcID.NotFound") return [];
          throw err;
        });
        const item = decide(
          "aws.vpc",
          "VPC",
          names.vpc,
          vpcId,
          Boolean(vpc),
          created("aws.vpc", vpc?.Tags),
          usedBy("aws.vpc", vpcId, "vpc_id"),
          () => deleteVpc(s, vpcId),
          vpc?.IsDefault ? "the default VPC is never deleted" : undefined,
        );
        items.push(item);
      } else {
        items.push({
          step: "aws.vpc",
          resource: "VPC",
          name: "default VPC",
          action: "keep",
          reason: "the default VPC is never deleted",
        });
      }

      // 5–7. IAM: policy, user, role. The user is kept while another block holds one of its keys.
      const policy = (await iam.listLocalPolicies()).find((p) => p.PolicyName === names.iamPolicy);
      const policyTags = policy?.Arn ? await iam.listPolicyTags(policy.Arn) : [];
      const userUsers = [...new Set([...usedBy("aws.iam-user", names.iamUser), ...keyHolders])];
      const userItem = decide(
        "aws.iam-user",
        "IAM user",
        names.iamUser,
        user?.Arn,
        Boolean(user),
        created("aws.iam-user", user?.Tags),
        userUsers,
        async () => {
          for (const k of await iam.listAccessKeys(names.iamUser).catch(() => [])) {
            if (k.AccessKeyId && !heldElsewhere.has(k.AccessKeyId))
              await iam.deleteAccessKey(names.iamUser, k.AccessKeyId).catch(gone(NO_SUCH));
          }
          for (const arn of await iam.listAttachedUserPolicies(names.iamUser).catch(() => []))
            await iam.detachUserPolicy(names.iamUser, arn).catch(gone(NO_SUCH));
          await iam.deleteUser(names.iamUser).catch(gone(NO_SUCH));
        },
      );
      const policyUsers = [
        ...usedBy("aws.iam-policy", policy?.Arn),
        ...(userItem.action === "keep" && userItem.usedBy ? userItem.usedBy : []),
      ];
      items.push(
        decide(
          "aws.iam-policy",
          "IAM policy",
          names.iamPolicy,
          policy?.Arn,
          Boolean(policy?.Arn),
          created("aws.iam-policy", policyTags),
          [...new Set(policyUsers)],
          async () => {
            const arn = policy?.Arn ?? "";
            await iam.detachUserPolicy(names.iamUser, arn).catch(gone(NO_SUCH));
            for (const v of await iam.listPolicyVersions(arn))
              if (!v.IsDefaultVersion && v.VersionId) await iam.deletePolicyVersion(arn, v.VersionId);
            await iam.deletePolicy(arn).catch(gone(NO_SUCH));
          },
        ),
      );
      items.push(userItem);

      const role = await iam.getRole(names.role);
      items.push(
        decide(
          "aws.execution-role",
          "IAM role",
          names.role,
          role?.Arn,
          Boolean(role),
          created("aws.execution-role", role?.Tags),
          usedBy("aws.execution-role", role?.Arn, "execution_role_arn"),
          async () => {
            for (const arn of await iam.listAttachedRolePolicies(names.role).catch(() => []))
              await iam.detachRolePolicy(names.role, arn).catch(gone(NO_SUCH));
            for (const p of await iam.listRolePolicies(names.role).catch(() => []))
              await iam.deleteRolePolicy(names.role, p).catch(gone(NO_SUCH));
            await iam.deleteRole(names.role).catch(gone(NO_SUCH));
          },
        ),
      );
      return items;
    },

    async rotate(): Promise<RotateResult> {
      if (!input.block)
        throw new WpError(`Work pool '${pool.name}' references no AWS credentials block to rotate.`, `Run \`${fix}\`.`);
      const s = await aws();
      const iam = await s.iam();
      const blockId = input.block.id;
      const blockName = input.block.name ?? blockId;
      const full = await input.api.readBlockDocumentById(blockId, true);
      const data = { ...((full?.data ?? {}) as Record<string, unknown>) };
      const oldId = typeof data.aws_access_key_id === "string" ? data.aws_access_key_id : undefined;
      const user = await iam.getUser(names.iamUser);
      if (!user?.Arn) throw new WpError(`IAM user ${names.iamUser} does not exist.`, `Run \`${fix}\` first.`);
      const keys = await iam.listAccessKeys(names.iamUser);
      const others = keys.filter((k) => k.AccessKeyId !== oldId).map((k) => k.AccessKeyId ?? "");
      const oldOnUser = keys.length !== others.length;
      if (others.length >= MAX_ACCESS_KEYS || (oldOnUser && others.length + 1 >= MAX_ACCESS_KEYS)) {
        throw new UsageError(
          `IAM user ${names.iamUser} holds ${others.length === 1 ? "access key" : "access keys"} ${others.join(", ")} ` +
            `besides the block's${oldOnUser ? ` (${oldId})` : ""}; AWS allows ${MAX_ACCESS_KEYS}, so a new key cannot be made ` +
            "before the old one is deleted.",
          `Delete the unused key (aws iam delete-access-key --user-name ${names.iamUser} --access-key-id …) and run again.`,
        );
      }
      const account = (await s.identity()).accountId;
      const spec: CredentialSpec<{ id: string; secret: string }> = {
        scope: `aws:${account}:iam-user/${names.iamUser}`,
        noun: "access key",
        owner: `IAM user ${names.iamUser}`,
        async mint() {
          const k = await iam.createAccessKey(names.iamUser);
          return { id: k.accessKeyId, secret: k.secretAccessKey };
        },
        revoke: (id) => iam.deleteAccessKey(names.iamUser, id).catch(gone(NO_SUCH)),
        list: async () =>
          (await iam.listAccessKeys(names.iamUser)).map((k) => ({ id: k.AccessKeyId ?? "", created: k.CreateDate })),
        async held() {
          const docs = await input.api.listBlockDocuments(BLOCK_TYPE);
          return new Set(
            docs.map((d) => d.data?.aws_access_key_id).filter((id): id is string => typeof id === "string"),
          );
        },
      };
      await input.guard.recover(spec, input.note);
      // The new key is stored in the block and checked by authenticating with it; a key that does
      // not authenticate is revoked again (the block gets its old data back).
      const newId = await input.guard.mintInto(
        spec,
        async (k) => {
          await input.api.updateBlockDocument(blockId, {
            ...data,
            aws_access_key_id: k.id,
            aws_secret_access_key: k.secret,
          });
          let problem: string | null = "not checked";
          for (let i = 0; i < 10 && problem; i++) {
            problem = await authenticatesAs(k.id, k.secret, user.Arn);
            if (problem) await new Promise((r) => setTimeout(r, Math.min(500 * 2 ** i, 4000)));
          }
          if (problem) {
            await input.api.updateBlockDocument(blockId, data);
            throw new CloudError(`The new access key ${k.id} ${problem}; the block keeps the old key.`);
          }
          return k.id;
        },
        input.note,
      );
      if (oldId && oldOnUser) await iam.deleteAccessKey(names.iamUser, oldId).catch(gone(NO_SUCH));
      return {
        block: blockName,
        newId,
        ...(oldId && oldOnUser ? { oldId } : {}),
        checked: `sts:GetCallerIdentity with the new key answered ${user.Arn}`,
      };
    },
  };
}

/** Deletes a wp-created VPC: security groups, subnets, route tables, gateways, then the VPC. Re-runnable. */
export async function deleteVpc(s: AwsSession, vpcId: string): Promise<void> {
  const ec2 = await s.ec2();
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  const ok = (codes: string[]) => gone(codes);
  for (const g of await ec2.describeSecurityGroups(inVpc))
    if (g.GroupId && g.GroupName !== "default")
      await ec2.deleteSecurityGroup(g.GroupId).catch(ok(["InvalidGroup.NotFound"]));
  for (const sub of await ec2.describeSubnets(inVpc))
    if (sub.SubnetId) await ec2.deleteSubnet(sub.SubnetId).catch(ok(["InvalidSubnetID.NotFound"]));
  for (const t of await ec2.describeRouteTables(inVpc)) {
    if (!t.RouteTableId || t.Associations?.some((a) => a.Main)) continue;
    for (const a of t.Associations ?? [])
      if (a.RouteTableAssociationId)
        await ec2.disassociateRouteTable(a.RouteTableAssociationId).catch(ok(["InvalidAssociationID.NotFound"]));
    await ec2.deleteRouteTable(t.RouteTableId).catch(ok(["InvalidRouteTableID.NotFound"]));
  }
  for (const igw of await ec2.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }])) {
    if (!igw.InternetGatewayId) continue;
    await ec2.detachInternetGateway(igw.InternetGatewayId, vpcId).catch(ok(["Gateway.NotAttached"]));
    await ec2.deleteInternetGateway(igw.InternetGatewayId).catch(ok(["InvalidInternetGatewayID.NotFound"]));
  }
  await ec2.deleteVpc(vpcId).catch(ok(["InvalidVpcID.NotFound"]));
}
