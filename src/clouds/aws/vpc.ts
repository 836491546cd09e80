/**
 * The VPC step. As in Prefect: an available default VPC means nothing to do (and no `vpc_id`); a
 * VPC tagged Name=<vpc name> is reused; otherwise wp creates one with the first free /16 from
 * 172.31.0.0/16. A wp-managed VPC that a failed run left incomplete shows as "update".
 */
import type { Vpc } from "@aws-sdk/client-ec2";
import { stringDefault } from "../../engine/lifecycle-types.js";
import type { Resource } from "../../engine/resource.js";
import type { StepContext, StepResult, StepState } from "../../engine/types.js";
import { CloudError, UsageError } from "../../errors.js";
import { nextFreeCidr } from "./cidr.js";
import { DEFAULT_VPC_QUOTA, type EcsContext, gone, tags, wpTagged } from "./names.js";
import { cidrOf, emptyNetwork, ensureNetwork, inspectNetwork, type Network, networkGaps, vpcIdOf } from "./network.js";
import type { AwsSession } from "./sdk.js";

type Found =
  | { kind: "default"; vpc: Vpc }
  | { kind: "named"; vpc: Vpc }
  | { kind: "none"; cidr: string; count: number };

/** The preflight's read (targets), handed to the VPC step's first check so the plan reads VPCs once. */
const preflightRead = new WeakMap<EcsContext, Promise<Found>>();

/** `findVpc` for the preflight; the VPC step's next check uses its answer instead of reading again. */
export function findVpcForPlan(e: EcsContext): Promise<Found> {
  const found = findVpc(e);
  preflightRead.set(e, found);
  return found;
}

/** Read-only: which VPC the pool will use. Throws (provision mode) when a new VPC would exceed the regional quota. */
export async function findVpc(e: EcsContext): Promise<Found> {
  const session = await e.aws();
  const ec2 = await session.ec2();
  // One DescribeVpcs: the default VPC, the named one and the CIDRs in use all come from the full list.
  const vpcs = await ec2.describeVpcs();
  const defaultVpc = vpcs.find((v) => v.IsDefault && v.State === "available");
  if (defaultVpc) return { kind: "default", vpc: defaultVpc };
  const named = vpcs.find((v) => v.Tags?.some((t) => t.Key === "Name" && t.Value === e.names.vpc));
  if (named) return { kind: "named", vpc: named };
  if (vpcs.length >= DEFAULT_VPC_QUOTA && e.mode === "provision") {
    // Only a full region needs the account's real quota (it may have been raised).
    const applied = e.vpcQuota ?? (await session.vpcQuota());
    const quota = applied ?? DEFAULT_VPC_QUOTA;
    if (vpcs.length >= quota) {
      const source = applied === null ? "AWS's default (Service Quotas could not be read)" : "from Service Quotas";
      throw new UsageError(
        `Region ${session.region} already has ${vpcs.length} VPCs and the quota is ${quota} per region (${source}), ` +
          `so creating VPC ${e.names.vpc} would fail.`,
        "Delete an unused VPC, tag an existing one Name=<name> and pass --vpc-name <name>, or request a higher quota.",
      );
    }
  }
  const cidrs = vpcs.flatMap((v) => (v.CidrBlock ? [v.CidrBlock] : []));
  return { kind: "none", cidr: nextFreeCidr(cidrs), count: vpcs.length };
}

const managed = (vpc: Vpc) => wpTagged(vpc.Tags);

export function vpcStep(e: EcsContext): Resource {
  /**
   * What this run's check saw; its apply starts from there rather than describing the VPCs again
   * (the network's writes tolerate "already exists"; a re-run converges after any failure).
   */
  let seen: { found: Found; network?: Network } | undefined;
  return {
    id: "aws.vpc",
    resource: "VPC",
    name: e.names.vpc,
    target: "aws",
    templateVariable: "vpc_id",
    async check(ctx): Promise<StepState> {
      seen = undefined;
      const pending = preflightRead.get(e);
      preflightRead.delete(e);
      const found = await (pending ?? findVpc(e));
      seen = { found };
      if (found.kind === "none") {
        const detail = `CIDR ${found.cidr}, internet gateway, 3 subnets, security group`;
        ctx.outputs.set("vpcPending", true);
        // Status: the VPC the template names is gone.
        const pool = e.mode === "read" ? await ctx.prefect.readWorkPool(e.pool) : null;
        const named = pool ? stringDefault(pool, "vpc_id") : undefined;
        return { action: "create", detail, ...(named ? { id: named } : {}) };
      }
      const id = vpcIdOf(found.vpc);
      if (found.kind === "default")
        return {
          action: "exists",
          name: `default VPC ${id}`,
          detail: `used instead of creating ${e.names.vpc}`,
          id,
        };
      ctx.outputs.set("vpcId", id);
      if (managed(found.vpc)) {
        const network = await inspectNetwork(await (await e.aws()).ec2(), found.vpc, e);
        seen = { found, network };
        const gaps = networkGaps(network, e);
        if (gaps.length) return { action: "update", detail: `missing ${gaps.join(", ")}`, id };
      }
      return { action: "exists", id };
    },
    async apply(ctx, state) {
      // Start from what the check saw (applyVpc).
      const known = seen;
      seen = undefined;
      return applyVpc(e, known, ctx, state);
    },
    async teardownFacts(_ctx, state) {
      if (!state.id) return {};
      const ec2 = await (await e.aws()).ec2();
      const [vpc] = await ec2.describeVpcs([{ Name: "vpc-id", Values: [state.id] }]);
      return { tagged: wpTagged(vpc?.Tags), ...(vpc?.IsDefault ? { keep: "the default VPC is never deleted" } : {}) };
    },
    async delete(_ctx, state) {
      if (state.id) await deleteVpc(await e.aws(), state.id);
    },
  };
}

/** Deletes a wp-created VPC: security groups, subnets, route tables, gateways, then the VPC. Re-runnable. */
export async function deleteVpc(s: AwsSession, vpcId: string): Promise<void> {
  const ec2 = await s.ec2();
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  for (const g of await ec2.describeSecurityGroups(inVpc))
    if (g.GroupId && g.GroupName !== "default")
      await ec2.deleteSecurityGroup(g.GroupId).catch(gone(["InvalidGroup.NotFound"]));
  for (const sub of await ec2.describeSubnets(inVpc))
    if (sub.SubnetId) await ec2.deleteSubnet(sub.SubnetId).catch(gone(["InvalidSubnetID.NotFound"]));
  for (const t of await ec2.describeRouteTables(inVpc)) {
    if (!t.RouteTableId || t.Associations?.some((a) => a.Main)) continue;
    for (const a of t.Associations ?? [])
      if (a.RouteTableAssociationId)
        await ec2.disassociateRouteTable(a.RouteTableAssociationId).catch(gone(["InvalidAssociationID.NotFound"]));
    await ec2.deleteRouteTable(t.RouteTableId).catch(gone(["InvalidRouteTableID.NotFound"]));
  }
  for (const igw of await ec2.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }])) {
    if (!igw.InternetGatewayId) continue;
    await ec2.detachInternetGateway(igw.InternetGatewayId, vpcId).catch(gone(["Gateway.NotAttached"]));
    await ec2.deleteInternetGateway(igw.InternetGatewayId).catch(gone(["InvalidInternetGatewayID.NotFound"]));
  }
  await ec2.deleteVpc(vpcId).catch(gone(["InvalidVpcID.NotFound"]));
}

/**
 * The VPC's apply, from what its check saw, except before creating: a VPC's name is only a tag, so
 * it looks again right before CreateVpc (another machine's run may have made it since the plan).
 */
async function applyVpc(
  e: EcsContext,
  known: { found: Found; network?: Network } | undefined,
  ctx: StepContext,
  state: StepState,
): Promise<StepResult> {
  const ec2 = await (await e.aws()).ec2();
  const planned = known?.found;
  const found = planned && planned.kind !== "none" ? planned : await findVpc(e);
  let vpc: Vpc;
  let action: "create" | "update" | "exists" = "exists";
  if (found.kind === "named") {
    vpc = found.vpc;
    if (managed(vpc)) {
      const network = (state.action === "update" && known?.network) || (await inspectNetwork(ec2, vpc, e));
      if (networkGaps(network, e).length) {
        await ensureNetwork(ec2, vpc, cidrOf(vpc), network, e, ctx.note);
        action = "update";
      }
    }
  } else if (found.kind === "none") {
    ctx.note(`Creating VPC ${e.names.vpc} with CIDR ${found.cidr}`);
    const created = createVpc(e, found.cidr, ctx.signal);
    // The network's lookups (zones, a gateway to reuse) overlap the VPC's creation.
    await ensureNetwork(ec2, created, found.cidr, emptyNetwork(found.cidr), e, ctx.note);
    vpc = await created;
    action = "create";
  } else {
    return { action: "exists", id: vpcIdOf(found.vpc) };
  }
  const id = vpcIdOf(vpc);
  ctx.outputs.set("vpcId", id);
  return { action, id };
}

/** Creates the VPC and waits until it is `available`. */
async function createVpc(e: EcsContext, cidr: string, signal?: AbortSignal): Promise<Vpc> {
  const ec2 = await (await e.aws()).ec2();
  const vpc = await ec2.createVpc({
    CidrBlock: cidr,
    TagSpecifications: [{ ResourceType: "vpc", Tags: tags(e.pool, { Name: e.names.vpc }) }],
  });
  return vpc.State === "available" ? vpc : waitAvailable(e, vpcIdOf(vpc), signal);
}

/** A new VPC is briefly `pending`; subnets can only be added once it is `available`. */
async function waitAvailable(e: EcsContext, vpcId: string, signal?: AbortSignal): Promise<Vpc> {
  const ec2 = await (await e.aws()).ec2();
  for (let i = 0; i < 120; i++) {
    const [vpc] = await ec2.describeVpcs([{ Name: "vpc-id", Values: [vpcId] }]);
    if (vpc?.State === "available") return vpc;
    signal?.throwIfAborted();
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new CloudError(`VPC ${vpcId} did not become available within a minute.`, "VpcNotAvailable");
}
