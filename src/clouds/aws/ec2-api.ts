/** The EC2 calls wp makes (see aws.ts). */
import type * as Ec2 from "@aws-sdk/client-ec2";
import { type Calls, calls, must, pages } from "./call.js";
import type { ClientConfig, Ec2Api } from "./sdk.js";

type Deletes =
  | "deleteSecurityGroup"
  | "deleteSubnet"
  | "disassociateRouteTable"
  | "deleteRouteTable"
  | "detachInternetGateway"
  | "deleteInternetGateway"
  | "deleteVpc";

export function ec2Api(m: typeof Ec2, cfg: ClientConfig, k: Calls = calls()): Ec2Api {
  const c = new m.EC2Client(cfg);
  return { ...ec2ApiReads(m, c, k), ...ec2ApiRoutes(m, c, k), ...ec2ApiDeletes(m, c, k) };
}

type Routes =
  | "describeRouteTables"
  | "createRouteTable"
  | "createRoute"
  | "associateRouteTable"
  | "describeSecurityGroups"
  | "createSecurityGroup";

/** Route tables and security groups. */
function ec2ApiRoutes(m: typeof Ec2, c: Ec2.EC2Client, k: Calls): Pick<Ec2Api, Routes> {
  return {
    describeRouteTables: (Filters) =>
      pages(async (NextToken) => {
        const out = await k.call("ec2:DescribeRouteTables", () =>
          c.send(new m.DescribeRouteTablesCommand({ Filters, NextToken })),
        );
        return { items: out.RouteTables, next: out.NextToken };
      }),
    createRouteTable: async (input) =>
      must(
        (await k.call("ec2:CreateRouteTable", () => c.send(new m.CreateRouteTableCommand(input)))).RouteTable
          ?.RouteTableId,
        "route table id",
      ),
    createRoute: async (RouteTableId, DestinationCidrBlock, GatewayId) => {
      await k.call("ec2:CreateRoute", () =>
        c.send(new m.CreateRouteCommand({ RouteTableId, DestinationCidrBlock, GatewayId })),
      );
    },
    associateRouteTable: async (RouteTableId, SubnetId) => {
      await k.call("ec2:AssociateRouteTable", () =>
        c.send(new m.AssociateRouteTableCommand({ RouteTableId, SubnetId })),
      );
    },
    describeSecurityGroups: (Filters) =>
      pages(async (NextToken) => {
        const out = await k.call("ec2:DescribeSecurityGroups", () =>
          c.send(new m.DescribeSecurityGroupsCommand({ Filters, NextToken })),
        );
        return { items: out.SecurityGroups, next: out.NextToken };
      }),
    createSecurityGroup: async (input) =>
      must(
        (await k.call("ec2:CreateSecurityGroup", () => c.send(new m.CreateSecurityGroupCommand(input)))).GroupId,
        "security group id",
      ),
  };
}

function ec2ApiReads(m: typeof Ec2, c: Ec2.EC2Client, k: Calls): Omit<Ec2Api, Deletes | Routes> {
  return {
    describeVpcs: (Filters) =>
      pages(async (NextToken) => {
        const out = await k.call("ec2:DescribeVpcs", () => c.send(new m.DescribeVpcsCommand({ Filters, NextToken })));
        return { items: out.Vpcs, next: out.NextToken };
      }),
    createVpc: async (input) =>
      must((await k.call("ec2:CreateVpc", () => c.send(new m.CreateVpcCommand(input)))).Vpc, "VPC"),
    availabilityZones: async () => {
      const filter = [{ Name: "state", Values: ["available"] }];
      const out = await k.call("ec2:DescribeAvailabilityZones", () =>
        c.send(new m.DescribeAvailabilityZonesCommand({ Filters: filter })),
      );
      return (out.AvailabilityZones ?? []).flatMap((z) => (z.ZoneName ? [z.ZoneName] : []));
    },
    describeInternetGateways: (Filters) =>
      pages(async (NextToken) => {
        const out = await k.call("ec2:DescribeInternetGateways", () =>
          c.send(new m.DescribeInternetGatewaysCommand({ Filters, NextToken })),
        );
        return { items: out.InternetGateways, next: out.NextToken };
      }),
    createInternetGateway: async (input) =>
      must(
        (await k.call("ec2:CreateInternetGateway", () => c.send(new m.CreateInternetGatewayCommand(input))))
          .InternetGateway?.InternetGatewayId,
        "internet gateway id",
      ),
    attachInternetGateway: async (InternetGatewayId, VpcId) => {
      await k.call("ec2:AttachInternetGateway", () =>
        c.send(new m.AttachInternetGatewayCommand({ InternetGatewayId, VpcId })),
      );
    },
    describeSubnets: (Filters) =>
      pages(async (NextToken) => {
        const out = await k.call("ec2:DescribeSubnets", () =>
          c.send(new m.DescribeSubnetsCommand({ Filters, NextToken })),
        );
        return { items: out.Subnets, next: out.NextToken };
      }),
    createSubnet: async (input) =>
      must(
        (await k.call("ec2:CreateSubnet", () => c.send(new m.CreateSubnetCommand(input)))).Subnet?.SubnetId,
        "subnet id",
      ),
  };
}

/** The deletions (a wp-made VPC's teardown). */
function ec2ApiDeletes(m: typeof Ec2, c: Ec2.EC2Client, k: Calls): Pick<Ec2Api, Deletes> {
  return {
    deleteSecurityGroup: async (GroupId) => {
      await k.call("ec2:DeleteSecurityGroup", () => c.send(new m.DeleteSecurityGroupCommand({ GroupId })));
    },
    deleteSubnet: async (SubnetId) => {
      await k.call("ec2:DeleteSubnet", () => c.send(new m.DeleteSubnetCommand({ SubnetId })));
    },
    disassociateRouteTable: async (AssociationId) => {
      await k.call("ec2:DisassociateRouteTable", () => c.send(new m.DisassociateRouteTableCommand({ AssociationId })));
    },
    deleteRouteTable: async (RouteTableId) => {
      await k.call("ec2:DeleteRouteTable", () => c.send(new m.DeleteRouteTableCommand({ RouteTableId })));
    },
    detachInternetGateway: async (InternetGatewayId, VpcId) => {
      await k.call("ec2:DetachInternetGateway", () =>
        c.send(new m.DetachInternetGatewayCommand({ InternetGatewayId, VpcId })),
      );
    },
    deleteInternetGateway: async (InternetGatewayId) => {
      await k.call("ec2:DeleteInternetGateway", () =>
        c.send(new m.DeleteInternetGatewayCommand({ InternetGatewayId })),
      );
    },
    deleteVpc: async (VpcId) => {
      await k.call("ec2:DeleteVpc", () => c.send(new m.DeleteVpcCommand({ VpcId })));
    },
  };
}
