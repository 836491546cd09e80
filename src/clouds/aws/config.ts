/**
 * AWS configuration checks that need no SDK and no request: known regions (the SDK's partition
 * table, copied; test/ecs/regions.test.ts keeps it in step with the installed SDK) and named
 * profiles in the shared config files.
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { UsageError } from "../../errors.js";
import { pyRepr } from "../../ui/io.js";
import { nearest } from "../../ui/nearest.js";

export type Env = Record<string, string | undefined>;

export const AWS_REGIONS: Record<string, string[]> = {
  aws: [
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "me-west-1",
    "mx-central-1",
    "sa-east-1",
    "sa-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
  ],
  "aws-cn": ["cn-north-1", "cn-northwest-1"],
  "aws-eusc": ["eusc-de-east-1"],
  "aws-iso": ["us-iso-east-1", "us-iso-west-1"],
  "aws-iso-b": ["us-isob-east-1", "us-isob-west-1"],
  "aws-iso-e": ["eu-isoe-west-1"],
  "aws-iso-f": ["us-isof-east-1", "us-isof-south-1"],
  "aws-us-gov": ["us-gov-east-1", "us-gov-west-1"],
};

/** Throws a one-line UsageError unless `region` is a region of some AWS partition. */
export function checkRegion(region: string, source: string): void {
  const all = Object.values(AWS_REGIONS).flat();
  if (all.includes(region)) return;
  const near = nearest(region, all);
  throw new UsageError(
    `AWS region ${pyRepr(region)} (from ${source}) does not exist.`,
    near.length
      ? `Did you mean ${near.join(" or ")}?`
      : `Use a region such as us-east-1 or eu-west-1 (AWS's regions: ${AWS_REGIONS.aws?.join(", ")}).`,
  );
}

/** Profile names in the shared config and credentials files (as the AWS CLI reads them). */
export function awsProfiles(env: Env): { names: Set<string>; files: string[] } {
  const home = env.HOME || homedir();
  const files = [
    env.AWS_CONFIG_FILE || join(home, ".aws", "config"),
    env.AWS_SHARED_CREDENTIALS_FILE || join(home, ".aws", "credentials"),
  ];
  const names = new Set<string>();
  for (const [i, file] of files.entries()) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch {
      continue;
    }
    for (const m of text.matchAll(/^\s*\[\s*([^\]]+?)\s*\]/gm)) {
      const section = m[1] ?? "";
      // The config file names profiles `[profile x]` (and `[default]`); the credentials file `[x]`.
      if (i === 0) {
        const p = /^profile\s+(.+)$/.exec(section);
        if (p?.[1]) names.add(p[1].trim());
        else if (section === "default") names.add(section);
      } else names.add(section);
    }
  }
  return { names, files };
}

/** Throws a one-line UsageError when a named profile is in neither shared file. */
export function checkProfile(profile: string, source: string, env: Env): void {
  const { names, files } = awsProfiles(env);
  if (names.has(profile)) return;
  const known = [...names].sort();
  throw new UsageError(
    `AWS profile ${pyRepr(profile)} (from ${source}) is not defined in ${files.join(" or ")}.`,
    known.length
      ? `Defined profiles: ${known.join(", ")}.`
      : "Create it with `aws configure --profile NAME`, or leave it out.",
  );
}
