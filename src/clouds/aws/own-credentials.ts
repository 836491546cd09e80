/**
 * `wp block create aws-credentials`: the user's own key from the AWS SDK's credential chain (the environment, then
 * `--aws-profile` / AWS_PROFILE with its SSO, process or static keys), checked with sts:GetCallerIdentity.
 */
import { AuthError, UsageError } from "../../errors.js";
import type { Env } from "../../prefect/settings.js";
import type { OwnCredential } from "../own-credentials.js";
import { checkProfile, checkRegion } from "./config.js";
import { resolveAws } from "./sdk.js";

export interface AwsKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

async function fromChain(env: Env, profile: string | undefined): Promise<{ key: AwsKey; source: string }> {
  // The chain's first link, read from wp's environment (the SDK itself reads process.env only).
  if (!profile && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    return {
      key: {
        accessKeyId: env.AWS_ACCESS_KEY_ID,
        secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
        sessionToken: env.AWS_SESSION_TOKEN || undefined,
      },
      source: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    };
  }
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const { STSClient } = await import("@aws-sdk/client-sts");
  const named = profile ?? env.AWS_PROFILE;
  try {
    const client = new STSClient({ region: "us-east-1", ...(profile ? { profile } : {}) });
    const key = await client.config.credentials();
    return { key, source: named ? `AWS profile ${named}` : "the AWS SDK's default credential chain" };
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
    throw new UsageError(
      `No AWS credentials found${named ? ` for profile ${named}` : ""}: ${why}`,
      "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or pass --aws-profile (run `aws sso login` first for an SSO profile).",
    );
  }
}

export async function awsOwnCredential(flags: Record<string, unknown>, env: Env): Promise<OwnCredential> {
  const profile = typeof flags.awsProfile === "string" ? flags.awsProfile : undefined;
  const region =
    (typeof flags.region === "string" ? flags.region : undefined) || env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (profile) checkProfile(profile, "--aws-profile", env);
  if (region) checkRegion(region, typeof flags.region === "string" ? "--region" : "AWS_REGION");
  const { key, source } = await fromChain(env, profile);
  const data: Record<string, unknown> = {
    aws_access_key_id: key.accessKeyId,
    aws_secret_access_key: key.secretAccessKey,
    ...(key.sessionToken ? { aws_session_token: key.sessionToken } : {}),
    ...(region ? { region_name: region } : {}),
  };
  return {
    data,
    source,
    ...(key.sessionToken
      ? { note: "These are temporary credentials (a session token): the block stops working when they expire." }
      : {}),
    verify: () => awsKeyIdentity(key, region, env),
  };
}

/** Who an access key signs in as (sts:GetCallerIdentity); AuthError when it does not. */
export async function awsKeyIdentity(key: AwsKey, region: string | undefined, env: Env): Promise<string> {
  const session = await resolveAws({ region: region || "us-east-1", env, credentials: key });
  try {
    const id = await session.identity();
    return `AWS account ${id.accountId} as ${id.arn}`;
  } catch (err) {
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0] ?? "";
    throw new AuthError(
      `The AWS key ${key.accessKeyId} does not authenticate (sts:GetCallerIdentity): ${why}`,
      "Check the key, or pass --no-verify to store it unchecked.",
    );
  }
}
