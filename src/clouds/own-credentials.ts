/**
 * Where `wp block create` takes a user's own credential from, per block type, and how it is checked before the block
 * is written. Each cloud's reader (and its SDK) is imported only when that type is created.
 */
import { UsageError } from "../errors.js";
import type { Env } from "../prefect/settings.js";
import type { Prompter } from "../ui/prompts.js";

export interface PromptUi {
  interactive: boolean;
  prompts: Prompter;
}

export interface OwnCredential {
  /** The block document's data (holds the secret: never printed or logged). */
  data: Record<string, unknown>;
  /** Where it came from, for the user: never the secret. */
  source: string;
  /** A caveat to print (e.g. temporary credentials). */
  note?: string;
  /** Checks that the credential authenticates; resolves with who it is. Absent: it cannot be checked. */
  verify?(): Promise<string>;
}

export interface OwnInput extends PromptUi {
  type: string;
  flags: Record<string, unknown>;
  env: Env;
  cwd: string;
}

/**
 * Flags that would carry a secret: refused before anything else, with where the secret goes instead. The value
 * itself is never repeated.
 */
export const SECRET_FLAGS: Record<string, string> = {
  "--aws-access-key-id": "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment, or pass --aws-profile",
  "--aws-secret-access-key": "set AWS_SECRET_ACCESS_KEY in the environment, or pass --aws-profile",
  "--aws-session-token": "set AWS_SESSION_TOKEN in the environment, or pass --aws-profile",
  "--secret-access-key": "set AWS_SECRET_ACCESS_KEY in the environment, or pass --aws-profile",
  "--client-secret": "set AZURE_CLIENT_SECRET, or leave it out to be asked on a terminal (hidden)",
  "--token":
    "set MODAL_TOKEN_ID/MODAL_TOKEN_SECRET (Modal) or DASK_COILED__TOKEN (Coiled), or leave it out to be asked on a terminal (hidden)",
  "--token-secret":
    "set MODAL_TOKEN_SECRET, use your ~/.modal.toml profile, or leave it out to be asked on a terminal (hidden)",
  "--api-token": "set DASK_COILED__TOKEN, use your dask config, or leave it out to be asked on a terminal (hidden)",
  "--connection-string": "set AZURE_STORAGE_CONNECTION_STRING, or leave it out to be asked on a terminal (hidden)",
  "--private-key": "pass the JSON key file with --key-file FILE, or --key-file - to read it from stdin",
  "--service-account-info": "pass the JSON key file with --key-file FILE, or --key-file - to read it from stdin",
  "--password": "use the environment variable or prompt of the block type (see `wp block create --help`)",
  "--secret": "use the environment variable or prompt of the block type (see `wp block create --help`)",
};

/** `--some-flag` → `someFlag`, as commander names it. */
export const flagProp = (flag: string) =>
  flag.replace(/^--/, "").replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());

/** A UsageError for the first secret flag given. */
export function refuseSecretFlags(flags: Record<string, unknown>): void {
  for (const [flag, how] of Object.entries(SECRET_FLAGS)) {
    if (flags[flagProp(flag)] !== undefined) {
      throw new UsageError(
        `${flag} is refused: wp never takes a secret as a flag value (argv is visible to other processes and kept in shell history).`,
        `Instead, ${how}.`,
      );
    }
  }
}

async function secretOrAsk(ui: PromptUi, value: string | undefined, what: string, variable: string): Promise<string> {
  if (value) return value;
  if (!ui.interactive) {
    throw new UsageError(`No ${what} found, and without a terminal nothing is asked.`, `Set ${variable}.`);
  }
  const answer = await ui.prompts.secret(`Enter the ${what} (hidden)`);
  if (!answer) throw new UsageError(`The ${what} cannot be empty.`);
  return answer;
}

async function modal(i: OwnInput): Promise<OwnCredential> {
  const { findModalToken } = await import("./modal/config.js");
  const profile = typeof i.flags.modalProfile === "string" ? i.flags.modalProfile : undefined;
  const found = await findModalToken(i.env, profile);
  if (found) return { data: { token_id: found.tokenId, token_secret: found.tokenSecret }, source: found.source };
  if (!i.interactive) {
    throw new UsageError(
      "No Modal token found, and without a terminal nothing is asked.",
      "Run `modal token new` (it writes ~/.modal.toml), or set MODAL_TOKEN_ID and MODAL_TOKEN_SECRET.",
    );
  }
  const tokenId = await i.prompts.text("Enter the Modal token id (ak-…)");
  const tokenSecret = await secretOrAsk(i, undefined, "Modal token secret", "MODAL_TOKEN_SECRET");
  if (!tokenId) throw new UsageError("The Modal token id cannot be empty.");
  return { data: { token_id: tokenId, token_secret: tokenSecret }, source: "the prompt" };
}

async function coiled(i: OwnInput): Promise<OwnCredential> {
  const { findCoiledToken } = await import("./coiled/config.js");
  const found = await findCoiledToken(i.env);
  const token = await secretOrAsk(i, found?.token, "Coiled API token", "DASK_COILED__TOKEN (or run `coiled login`)");
  return { data: { api_token: token }, source: found?.source ?? "the prompt" };
}

async function blobCredentials(i: OwnInput): Promise<OwnCredential> {
  const url = typeof i.flags.accountUrl === "string" ? i.flags.accountUrl : undefined;
  if (url) {
    if (!/^https:\/\/\S+$/.test(url)) throw new UsageError(`--account-url '${url}' is not an https URL.`);
    return { data: { account_url: url }, source: "--account-url (the flow run's ambient Azure identity signs in)" };
  }
  const fromEnv = i.env.AZURE_STORAGE_CONNECTION_STRING;
  const cs = await secretOrAsk(
    i,
    fromEnv,
    "Azure Storage connection string",
    "AZURE_STORAGE_CONNECTION_STRING, or pass --account-url",
  );
  if (!/AccountName=|BlobEndpoint=|SharedAccessSignature=/i.test(cs)) {
    throw new UsageError(
      "That is not an Azure Storage connection string (no AccountName, BlobEndpoint or SharedAccessSignature).",
    );
  }
  return { data: { connection_string: cs }, source: fromEnv ? "AZURE_STORAGE_CONNECTION_STRING" : "the prompt" };
}

/** The credential for a credentials block type (read, prompted; not yet checked). */
export async function ownCredential(i: OwnInput): Promise<OwnCredential> {
  switch (i.type) {
    case "aws-credentials":
      return (await import("./aws/own-credentials.js")).awsOwnCredential(i.flags, i.env);
    case "azure-container-instance-credentials":
      return (await import("./azure/own-credentials.js")).aciOwnCredential(i.flags, i.env, i);
    case "gcp-credentials":
      return (await import("./gcp/own-credentials.js")).gcpOwnCredential(i.flags, i.env, i.cwd);
    case "modal-credentials":
      return modal(i);
    case "coiled-credentials":
      return coiled(i);
    case "azure-blob-storage-credentials":
      return blobCredentials(i);
    default:
      throw new UsageError(`Block type '${i.type}' holds no credential.`);
  }
}
