/**
 * The pieces of a wp-created VPC: internet gateway, three subnets in three zones, a public route
 * table associated with them, and the security group. `inspectNetwork`/`networkGaps` are
 * read-only; `ensureNetwork` creates exactly what is missing, so a run that failed half-way
 * converges on the next one. Independent pieces are created concurrently.
 */

import type { Vpc } from "@aws-sdk/client-ec2";
import { settled } from "../../engine/settled.js";
import { CloudError } from "../../errors.js";
import { subnetCidrs } from "./cidr.js";
import { createOrExisting, type EcsContext, MANAGER, SECURITY_GROUP_DESCRIPTION, TAG_MANAGER, tags } from "./names.js";
import { awsErrorCode, type Ec2Api } from "./sdk.js";

const ANYWHERE = "0.0.0.0/0";

export interface Network {
  igwId?: string;
  /** CIDR → subnet id, for the CIDRs wp wants. */
  subnets: Map<string, string | undefined>;
  routeTableId?: string;
  hasDefaultRoute: boolean;
  unassociated: string[];
  securityGroupId?: string;
}

/** The network of a VPC created a moment ago: nothing of wp's yet. */
export function emptyNetwork(cidr: string): Network {
  return { subnets: new Map(subnetCidrs(cidr).map((c) => [c, undefined])), hasDefaultRoute: false, unassociated: [] };
}

/** Read-only: what of wp's network the VPC has. */
export async function inspectNetwork(ec2: Ec2Api, vpc: Vpc, e: EcsContext): Promise<Network> {
  const vpcId = vpcIdOf(vpc);
  const cidr = cidrOf(vpc);
  const inVpc = [{ Name: "vpc-id", Values: [vpcId] }];
  const [igws, subnets, tables, groups] = await settled([
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

/** Human list of what the network lacks; empty when complete. */
export function networkGaps(n: Network, e: EcsContext): string[] {
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

/** Read-only: a gateway a failed run created for this VPC but did not attach (to reuse, not orphan). */
async function findOrphanGateway(ec2: Ec2Api, e: EcsContext): Promise<string | undefined> {
  const gateways = await ec2.describeInternetGateways([
    { Name: `tag:${TAG_MANAGER}`, Values: [MANAGER] },
    { Name: "tag:Name", Values: [e.names.vpc] },
  ]);
  return gateways.find((g) => !g.Attachments?.length)?.InternetGatewayId;
}

/**
 * Creates whatever part of the network `n` (what the VPC has, see inspectNetwork) lacks. `vpc` may
 * still be being created (a new VPC, with `emptyNetwork`): the lookups and the gateway (which
 * needs no VPC until it is attached) start at once. Independent pieces go concurrently: gateway (create → attach) ∥ subnets ∥
 * route table ∥ security group; then the default route (gateway + table) and the associations
 * (subnets + table).
 */
export async function ensureNetwork(
  ec2: Ec2Api,
  vpc: Vpc | Promise<Vpc>,
  cidr: string,
  n: Network,
  e: EcsContext,
  note: (m: string) => void,
): Promise<void> {
  const vpcName = e.names.vpc;
  const vpcReady = Promise.resolve(vpc).then(vpcIdOf);
  const missing = [...n.subnets].filter(([, id]) => !id).map(([c]) => c);
  const zones = missing.length ? ec2.availabilityZones() : Promise.resolve([]);
  // Reuse a gateway a failed run created but did not attach, rather than leaving it orphaned.
  const unattached = n.igwId ? Promise.resolve(undefined) : findOrphanGateway(ec2, e);

  const gateway = (async () => {
    if (n.igwId) return n.igwId;
    const reuse = await unattached;
    note("Creating internet gateway");
    const igwId =
      reuse ?? (await ec2.createInternetGateway({ TagSpecifications: tagSpec("internet-gateway", e, vpcName) }));
    await ec2.attachInternetGateway(igwId, await vpcReady);
    return igwId;
  })();

  const subnets = ensureSubnets(ec2, { vpcReady, zones, cidr, missing, n, e, note });

  const routeTable = (async () =>
    n.routeTableId ??
    (await ec2.createRouteTable({
      VpcId: await vpcReady,
      TagSpecifications: tagSpec("route-table", e, vpcName),
    })))();

  const route = (async () => {
    if (n.hasDefaultRoute) return;
    const [table, igwId] = await settled([routeTable, gateway]);
    await createOrExisting(() => ec2.createRoute(table, ANYWHERE, igwId), ["RouteAlreadyExists"]);
  })();

  const associations = (async () => {
    const [table, ids] = await settled([routeTable, subnets]);
    // An existing table keeps its associations; a new one gets every subnet.
    const done = n.routeTableId ? [...n.subnets.values()].filter((id) => id && !n.unassociated.includes(id)) : [];
    const before = new Set(done);
    await settled(
      ids
        .filter((id) => !before.has(id))
        .map((id) => createOrExisting(() => ec2.associateRouteTable(table, id), ["Resource.AlreadyAssociated"])),
    );
  })();

  const securityGroup = n.securityGroupId ? Promise.resolve() : createSecurityGroup(ec2, vpcReady, e, note);

  // Every promise is awaited, so a failure leaves no request running and no rejection unhandled.
  await settled([vpcReady, zones, unattached, gateway, subnets, routeTable, route, associations, securityGroup]);
}

/** The subnets `missing` names (one per zone, wrapping round when the region has fewer); all the VPC's subnet ids. */
async function ensureSubnets(
  ec2: Ec2Api,
  o: {
    vpcReady: Promise<string>;
    zones: Promise<string[]>;
    cidr: string;
    missing: string[];
    n: Network;
    e: EcsContext;
    note: (m: string) => void;
  },
): Promise<string[]> {
  const ids = [...o.n.subnets.values()].filter((x): x is string => !!x);
  if (!o.missing.length) return ids;
  const [vpcId, az] = await settled([o.vpcReady, o.zones]);
  o.note("Setting up subnets");
  if (az.length === 0) throw new CloudError(`No availability zones are available in ${vpcId}'s region.`);
  const all = subnetCidrs(o.cidr);
  const made = await settled(
    o.missing.map((c) => {
      const i = all.indexOf(c);
      // Fewer than three zones (rare regions/local zones): wrap around rather than fail.
      const zone = az[i % az.length];
      return ec2
        .createSubnet({
          VpcId: vpcId,
          CidrBlock: c,
          ...(zone ? { AvailabilityZone: zone } : {}),
          TagSpecifications: tagSpec("subnet", o.e, `${o.e.names.vpc}-${i + 1}`),
        })
        .catch((err: unknown) => {
          // There already (an earlier or concurrent run): its id is looked up below.
          if (awsErrorCode(err) === "InvalidSubnet.Conflict") return undefined;
          throw err;
        });
    }),
  );
  if (made.every((id) => id)) return [...ids, ...made.filter((id): id is string => !!id)];
  const found = await ec2.describeSubnets([{ Name: "vpc-id", Values: [vpcId] }]);
  return all.flatMap((c) => found.find((s) => s.CidrBlock === c)?.SubnetId ?? []);
}

/** The pool's security group, without rules: AWS's defaults (no inbound, all outbound) are what Prefect wants. */
async function createSecurityGroup(
  ec2: Ec2Api,
  vpcReady: Promise<string>,
  e: EcsContext,
  note: (m: string) => void,
): Promise<void> {
  const vpcId = await vpcReady;
  note("Setting up security group");
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
