/**
 * The pieces of a wp-created VPC: internet gateway, three subnets in three zones, a public route
 * table associated with them, and the security group. `networkGaps` is read-only; `ensureNetwork`
 * creates exactly what is missing, so a run that failed half-way converges on the next one.
 */

import type { Vpc } from "@aws-sdk/client-ec2";
import type { Ec2Api } from "../../clouds/aws.js";
import { CloudError } from "../../errors.js";
import { subnetCidrs } from "./cidr.js";
import { createOrExisting, type EcsContext, MANAGER, SECURITY_GROUP_DESCRIPTION, TAG_MANAGER, tags } from "./names.js";

const ANYWHERE = "0.0.0.0/0";

interface Network {
  igwId?: string;
  /** CIDR → subnet id, for the CIDRs wp wants. */
  subnets: Map<string, string | undefined>;
  routeTableId?: string;
  hasDefaultRoute: boolean;
  unassociated: string[];
  securityGroupId?: string;
}

async function inspectNetwork(ec2: Ec2Api, vpcId: string, cidr: string, e: EcsContext): Promise<Network> {
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  const [igws, subnets, tables, groups] = await Promise.all([
    ec2.describeInternetGateways([{ Name: "attachment.vpc-id", Values: [vpcId] }]),
    ec2.describeSubnets(inVpc),
    ec2.describeRouteTables(inVpc),
    ec2.describeSecurityGroups([...inVpc, { Name: "group-name", Values: [e.names.securityGroup] }]),
  ]);
  const igwId = igws[0]?.InternetGatewayId;
  const wanted = new Map<string, string | undefined>(
    subnetCidrs(cidr).map((c) => [c, subnets.find((s) => s.CidrBlock === c)?.SubnetId]),
  );
  const custom = tables.filter((t) => !t.Associations?.some((a) => a.Main));
  const isPublic = (t: (typeof tables)[number]) =>
    t.Routes?.some((r) => r.DestinationCidrBlock === ANYWHERE && r.GatewayId?.startsWith("igw-"));
  const ours = (t: (typeof tables)[number]) => t.Tags?.some((x) => x.Key === TAG_MANAGER && x.Value === MANAGER);
  const table = custom.find(isPublic) ?? custom.find(ours);
  const associated = new Set(table?.Associations?.map((a) => a.SubnetId) ?? []);
  return {
    ...(igwId ? { igwId } : {}),
    subnets: wanted,
    ...(table?.RouteTableId ? { routeTableId: table.RouteTableId } : {}),
    hasDefaultRoute: table ? Boolean(isPublic(table)) : false,
    unassociated: [...wanted.values()].filter((id): id is string => Boolean(id) && !associated.has(id)),
    ...(groups[0]?.GroupId ? { securityGroupId: groups[0].GroupId } : {}),
  };
}

/** Human list of what the VPC lacks; empty when complete. */
export async function networkGaps(ec2: Ec2Api, vpc: Vpc, e: EcsContext): Promise<string[]> {
  const n = await inspectNetwork(ec2, vpcIdOf(vpc), cidrOf(vpc), e);
  const gaps: string[] = [];
  if (!n.igwId) gaps.push("internet gateway");
  const missing = [...n.subnets].filter(([, id]) => !id).map(([c]) => c);
  if (missing.length) gaps.push(`subnets ${missing.join(", ")}`);
  if (!n.routeTableId || !n.hasDefaultRoute) gaps.push("public route table");
  else if (n.unassociated.length || missing.length) gaps.push("route table associations");
  if (!n.securityGroupId) gaps.push(`security group ${e.names.securityGroup}`);
  return gaps;
}

export const vpcIdOf = (vpc: Vpc): string => {
  if (!vpc.VpcId) throw new CloudError("AWS returned a VPC without an id.");
  return vpc.VpcId;
};
export const cidrOf = (vpc: Vpc): string => {
  if (!vpc.CidrBlock) throw new CloudError(`VPC ${vpc.VpcId} has no IPv4 CIDR block.`);
  return vpc.CidrBlock;
};

const tagSpec = (
  type: "internet-gateway" | "subnet" | "route-table" | "security-group",
  e: EcsContext,
  name: string,
) => [{ ResourceType: type, Tags: tags(e.pool, { Name: name }) }];

/** Creates whatever part of the VPC's network is missing (see the module comment). */
export async function ensureNetwork(ec2: Ec2Api, vpc: Vpc, e: EcsContext, note: (m: string) => void): Promise<void> {
  const vpcId = vpcIdOf(vpc);
  const cidr = cidrOf(vpc);
  const vpcName = e.names.vpc;
  let n = await inspectNetwork(ec2, vpcId, cidr, e);

  if (!n.igwId) {
    note("Creating internet gateway");
    // Reuse a gateway a failed run created but did not attach, rather than leaving it orphaned.
    const orphan = (
      await ec2.describeInternetGateways([
        { Name: `tag:${TAG_MANAGER}`, Values: [MANAGER] },
        { Name: "tag:Name", Values: [vpcName] },
      ])
    ).find((g) => !g.Attachments?.length)?.InternetGatewayId;
    const igwId =
      orphan ?? (await ec2.createInternetGateway({ TagSpecifications: tagSpec("internet-gateway", e, vpcName) }));
    await ec2.attachInternetGateway(igwId, vpcId);
  }

  const missing = [...n.subnets].filter(([, id]) => !id).map(([c]) => c);
  if (missing.length) {
    note("Setting up subnets");
    const zones = await ec2.availabilityZones();
    if (zones.length === 0) throw new CloudError(`No availability zones are available in ${vpcId}'s region.`);
    const all = subnetCidrs(cidr);
    for (const c of missing) {
      const i = all.indexOf(c);
      // Fewer than three zones (rare regions/local zones): wrap around rather than fail.
      const zone = zones[i % zones.length];
      await createOrExisting(
        () =>
          ec2.createSubnet({
            VpcId: vpcId,
            CidrBlock: c,
            ...(zone ? { AvailabilityZone: zone } : {}),
            TagSpecifications: tagSpec("subnet", e, `${vpcName}-${i + 1}`),
          }),
        ["InvalidSubnet.Conflict"],
      );
    }
  }

  n = await inspectNetwork(ec2, vpcId, cidr, e);
  const igwId = n.igwId;
  if (!igwId) throw new CloudError(`VPC ${vpcId} has no internet gateway after attaching one.`);
  const routeTableId =
    n.routeTableId ??
    (await ec2.createRouteTable({ VpcId: vpcId, TagSpecifications: tagSpec("route-table", e, vpcName) }));
  if (!n.hasDefaultRoute) {
    await createOrExisting(() => ec2.createRoute(routeTableId, ANYWHERE, igwId), ["RouteAlreadyExists"]);
  }
  const unassociated = n.routeTableId ? n.unassociated : [...n.subnets.values()].filter((x): x is string => !!x);
  for (const subnetId of unassociated) {
    await createOrExisting(() => ec2.associateRouteTable(routeTableId, subnetId), ["Resource.AlreadyAssociated"]);
  }

  if (!n.securityGroupId) {
    note("Setting up security group");
    // No rules are added: AWS defaults are no inbound and all outbound, which is what Prefect wants.
    await createOrExisting(
      () =>
        ec2.createSecurityGroup({
          GroupName: e.names.securityGroup,
          Description: SECURITY_GROUP_DESCRIPTION,
          VpcId: vpcId,
          TagSpecifications: tagSpec("security-group", e, e.names.securityGroup),
        }),
      ["InvalidGroup.Duplicate"],
    );
  }
}
