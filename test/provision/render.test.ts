import { describe, expect, it } from "vitest";
import { renderPlan } from "../../src/engine/render.js";
import { palette, stripAnsi } from "../../src/ui/io.js";
import { displayWidth } from "../../src/ui/table.js";

const plan = [
  {
    id: "aws.vpc",
    resource: "VPC",
    name: "prefect-ecs-vpc",
    target: "aws",
    action: "create" as const,
    detail: "CIDR 172.31.0.0/16, internet gateway, 3 subnets, security group prefect-ecs-security-group",
  },
  { id: "prefect.work-pool", resource: "Work pool", name: "p", target: "prefect", action: "create" as const },
];
const targets = [
  { key: "aws", label: "AWS account 123456789012, region us-east-1" },
  { key: "prefect", label: "Prefect" },
];

describe("the plan on a terminal", () => {
  it("cuts each step's detail to the terminal width with …, and keeps it whole when piped", () => {
    const narrow = stripAnsi(renderPlan("p", "ecs:push", targets, plan, palette(true), 60));
    for (const line of narrow.split("\n")) expect(displayWidth(line)).toBeLessThanOrEqual(60);
    expect(narrow).toContain("prefect-ecs-vpc  (CIDR 172.31.0.0/…");
    const piped = renderPlan("p", "ecs:push", targets, plan, palette(false));
    expect(piped).toContain(`(${plan[0]?.detail})`);
  });
});
