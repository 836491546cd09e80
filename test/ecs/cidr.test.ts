/** Pure parts of the ECS provisioner: CIDR search, policy document checks, job template. */
import { describe, expect, it } from "vitest";
import { nextFreeCidr, overlaps, subnetCidrs } from "../../src/clouds/aws/cidr.js";
import { ecsJobTemplate } from "../../src/clouds/aws/index.js";
import {
  ecsPolicyDocument,
  mergeEcsPolicy,
  missingEcsPolicyParts,
  PREFECT_ECS_ACTIONS,
} from "../../src/clouds/aws/policy.js";

describe("nextFreeCidr", () => {
  it("starts at 172.31.0.0/16", () => {
    expect(nextFreeCidr([])).toBe("172.31.0.0/16");
    expect(nextFreeCidr(["10.0.0.0/16"])).toBe("172.31.0.0/16");
  });
  it("steps by /16 past overlapping blocks", () => {
    expect(nextFreeCidr(["172.31.0.0/16"])).toBe("172.32.0.0/16");
    expect(nextFreeCidr(["172.31.0.0/16", "172.32.128.0/20"])).toBe("172.33.0.0/16");
    expect(nextFreeCidr(["172.0.0.0/8"])).toBe("173.0.0.0/16");
  });
  it("fails with Prefect's message when the space runs out", () => {
    expect(() => nextFreeCidr(["0.0.0.0/0"])).toThrow(
      "Unable to find a non-overlapping CIDR block in the default range",
    );
    expect(nextFreeCidr(["172.31.0.0/16"], "255.255.0.0/16")).toBe("255.255.0.0/16");
    expect(() => nextFreeCidr(["255.255.0.0/16"], "255.255.0.0/16")).toThrow(/non-overlapping/);
  });
  it("detects overlap either way", () => {
    expect(overlaps("172.31.0.0/16", "172.31.5.0/24")).toBe(true);
    expect(overlaps("172.31.5.0/24", "172.31.0.0/16")).toBe(true);
    expect(overlaps("172.31.0.0/16", "172.30.0.0/16")).toBe(false);
  });
  it("splits into the first three /18s", () => {
    expect(subnetCidrs("172.31.0.0/16")).toEqual(["172.31.0.0/18", "172.31.64.0/18", "172.31.128.0/18"]);
    expect(subnetCidrs("10.1.0.0/24", 4)).toEqual(["10.1.0.0/26", "10.1.0.64/26", "10.1.0.128/26", "10.1.0.192/26"]);
  });
});

describe("policy documents", () => {
  const role = "arn:aws:iam::1:role/PrefectEcsTaskExecutionRole";
  it("Prefect's document is complete", () => {
    const doc = JSON.parse(ecsPolicyDocument(role));
    expect(doc.Statement[0].Action).toEqual(PREFECT_ECS_ACTIONS);
    expect(doc.Statement[1]).toEqual({
      Sid: "AllowPassRoleForEcs",
      Effect: "Allow",
      Action: "iam:PassRole",
      Resource: role,
    });
    expect(missingEcsPolicyParts(ecsPolicyDocument(role), role)).toEqual([]);
  });
  it("wildcards count; Deny and other resources do not", () => {
    const wide = JSON.stringify({
      Statement: { Effect: "Allow", Action: ["ec2:*", "ecs:*", "logs:*", "iam:Pass*"], Resource: "*" },
    });
    expect(missingEcsPolicyParts(wide, role)).toEqual([]);
    const narrow = JSON.stringify({ Statement: [{ Effect: "Allow", Action: "ecs:RunTask", Resource: "arn:x" }] });
    expect(missingEcsPolicyParts(narrow, role)).toContain("ecs:RunTask");
    expect(missingEcsPolicyParts(narrow, role)).toContain(`iam:PassRole on ${role}`);
  });
  it("merge keeps the user's statements and rewrites Prefect's", () => {
    const mine = { Sid: "Mine", Effect: "Allow", Action: "s3:*", Resource: "*" };
    const old = JSON.stringify({
      Version: "2012-10-17",
      Statement: [mine, { Sid: "PrefectEcsPolicy", Effect: "Allow", Action: [], Resource: "*" }],
    });
    const merged = JSON.parse(mergeEcsPolicy(old, role));
    expect(merged.Statement[0]).toEqual(mine);
    expect(merged.Statement).toHaveLength(3);
    expect(missingEcsPolicyParts(JSON.stringify(merged), role)).toEqual([]);
  });
});

describe("ecsJobTemplate", () => {
  it("refuses to build without the outputs it needs", () => {
    expect(() => ecsJobTemplate({}, new Map())).toThrow(/blockDocumentId, clusterName, executionRoleArn/);
  });
});
