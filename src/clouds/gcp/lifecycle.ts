/**
 * The Cloud Run pool's life: status (APIs, repository, service account, project roles, the block's
 * key existing and enabled, Docker access), the teardown plan (the block and its key, the roles,
 * the service account, the repository; APIs stay enabled) and key rotation through the CredentialGuard.
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
import { dockerAuthState } from "./docker.js";
import { BLOCK_TYPE, LABEL_MANAGER, MANAGER, MAX_KEYS, REPOSITORY, ROLES, SERVICE_ACCOUNT, SERVICES } from "./names.js";
import { serviceAccountToken } from "./run-api.js";
import { type GcpApi, gcpCode, resolveGcp, type ServiceAccountKey } from "./sdk.js";
import { missingRoles } from "./steps.js";

const keyIdOf = (name: string | null | undefined) => (name ?? "").split("/").pop() ?? "";

export function cloudRunLifecycle(input: LifecycleInput): Lifecycle {
  const { pool, record } = input;
  const entry = (step: string): RecordResource | undefined => record?.record.resources.find((r) => r.step === step);
  const blockData = (input.block?.data ?? {}) as { project?: unknown; service_account_info?: Record<string, unknown> };
  // The repository id in the record reads projects/P/locations/R/repositories/ID.
  const repoPath = /^projects\/([^/]+)\/locations\/([^/]+)\/repositories\/([^/]+)$/.exec(
    entry("gcp.repository")?.id ?? "",
  );
  const flag = (k: string) =>
    typeof input.flags[k] === "string" && input.flags[k] ? String(input.flags[k]) : undefined;
  const project =
    flag("project") ??
    repoPath?.[1] ??
    (typeof blockData.project === "string" ? blockData.project : undefined) ??
    input.env.GOOGLE_CLOUD_PROJECT ??
    input.env.CLOUDSDK_CORE_PROJECT;
  const region = flag("region") ?? stringDefault(pool, "region") ?? repoPath?.[2] ?? "us-central1";
  const repository = repoPath?.[3] ?? entry("gcp.repository")?.name ?? REPOSITORY;
  const saEmail =
    entry("gcp.service-account")?.id ??
    stringDefault(pool, "service_account_name") ??
    (project ? `${SERVICE_ACCOUNT}@${project}.iam.gserviceaccount.com` : SERVICE_ACCOUNT);
  const member = `serviceAccount:${saEmail}`;
  const registry = `${region}-docker.pkg.dev`;
  const fix = wpCommand("provision-infra", pool.name);
  let api: Promise<GcpApi> | undefined;
  const gcp = () => {
    if (!project)
      throw new UsageError(
        `The GCP project of work pool '${pool.name}' cannot be found from its block or record.`,
        "Pass --project.",
      );
    api ??= resolveGcp({ project, region, env: input.env });
    return api;
  };

  const usedBy = (step: string, id: string | undefined, templateVar?: string): string[] => {
    if (!id) return [];
    const out = new Set<string>();
    for (const r of input.otherRecords)
      if (r.record.resources.some((x) => x.step === step && x.id === id)) out.add(r.record.work_pool);
    if (templateVar) for (const p of input.otherPools) if (stringDefault(p, templateVar) === id) out.add(p.name);
    return [...out];
  };
  const createdByWp = (step: string) => entry(step)?.created === true;

  /** The block's key: its id and email (from service_account_info; never the private key). */
  async function blockKey(): Promise<{ keyId?: string; email?: string; info?: Record<string, unknown> }> {
    if (!input.block) return {};
    const full = await input.api.readBlockDocumentById(input.block.id, true);
    const info = (full?.data as { service_account_info?: Record<string, unknown> } | undefined)?.service_account_info;
    const keyId = typeof info?.private_key_id === "string" ? info.private_key_id : undefined;
    const email = typeof info?.client_email === "string" ? info.client_email : undefined;
    return { ...(keyId ? { keyId } : {}), ...(email ? { email } : {}), ...(info ? { info } : {}) };
  }

  /** Blocks of other pools that hold keys of `email` (they keep the service account alive). */
  async function otherKeyHolders(email: string): Promise<string[]> {
    const out: string[] = [];
    for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
      if (d.id === input.block?.id || !d.name) continue;
      const full = await input.api.readBlockDocument(BLOCK_TYPE, d.name, true);
      const info = (full?.data as { service_account_info?: { client_email?: unknown } } | undefined)
        ?.service_account_info;
      if (info?.client_email === email)
        out.push(input.otherPools.find((p) => blockRefOf(p, "credentials") === d.id)?.name ?? `block ${d.name}`);
    }
    return out;
  }

  return {
    blockType: BLOCK_TYPE,
    target: async () => `GCP project ${project ?? "?"}, region ${region}`,
    lockScopes: async () => (project ? [`GCP project ${project}`] : []),
    unknowns() {
      if (record) return [];
      return [
        "No provisioning record: the service account and the project roles carry no labels, so whether wp created " +
          `them cannot be known; they count as adopted and are never deleted. The repository counts as wp's when labelled ${LABEL_MANAGER}=${MANAGER}.`,
      ];
    },

    async status() {
      const g = await gcp();
      const items: StatusItem[] = [];
      for (const s of SERVICES) {
        const on = await g.serviceEnabled(s.id);
        items.push(
          on
            ? { resource: "API", name: s.id, state: "ok" }
            : { resource: "API", name: s.id, state: "missing", detail: "not enabled", fix },
        );
      }
      const repo = await g.getRepository(repository).catch((err: unknown) => {
        if (gcpCode(err) === "PERMISSION_DENIED" || gcpCode(err) === "FAILED_PRECONDITION") return null;
        throw err;
      });
      if (!repo) items.push({ resource: "Artifact Registry repository", name: repository, state: "missing", fix });
      else
        items.push({
          resource: "Artifact Registry repository",
          name: repository,
          ...(repo.name ? { id: repo.name } : {}),
          state: repo.format && repo.format !== "DOCKER" ? "drift" : "ok",
          ...(repo.format && repo.format !== "DOCKER" ? { detail: `format ${repo.format}, not DOCKER` } : {}),
        });
      const sa = await g.getServiceAccount(saEmail);
      if (!sa) items.push({ resource: "Service account", name: saEmail, state: "missing", fix });
      else
        items.push({
          resource: "Service account",
          name: saEmail,
          state: sa.disabled ? "drift" : "ok",
          ...(sa.disabled ? { detail: "disabled", fix: "enable it in IAM > Service accounts" } : {}),
        });
      const missing = sa ? missingRoles(await g.getIamPolicy(), member) : ROLES;
      items.push(
        missing.length
          ? {
              resource: "Project IAM roles",
              name: ROLES.join(", "),
              state: "drift",
              detail: `${saEmail} lacks ${missing.join(", ")}`,
              fix,
            }
          : { resource: "Project IAM roles", name: ROLES.join(", "), state: "ok" },
      );
      if (input.block) {
        const key = await blockKey();
        const rotate = wpCommand("rotate-credentials", pool.name);
        const keys = key.email ? await g.listKeys(key.email) : [];
        const found = keys.find((k) => keyIdOf(k.name) === key.keyId);
        const name = input.block.name ?? input.block.id;
        if (!key.keyId)
          items.push({
            resource: "Service-account key",
            name,
            state: "missing",
            detail: "the block holds no key",
            fix: rotate,
          });
        else if (!found)
          items.push({
            resource: "Service-account key",
            name,
            id: key.keyId,
            state: "missing",
            detail: `key not found on ${key.email ?? saEmail} (deleted in the cloud?)`,
            fix: rotate,
          });
        else if (found.disabled)
          items.push({
            resource: "Service-account key",
            name,
            id: key.keyId,
            state: "drift",
            detail: "key is disabled",
            fix: rotate,
          });
        else {
          // As the block's own identity: a token for the key.
          const refused = await serviceAccountToken(key.info ?? {}, input.env).then(
            () => null,
            (err: unknown) => (err instanceof Error ? err.message : String(err)),
          );
          items.push(
            refused
              ? { resource: "Service-account key", name, id: key.keyId, state: "drift", detail: refused, fix: rotate }
              : {
                  resource: "Service-account key",
                  name,
                  id: key.keyId,
                  state: "ok",
                  detail: `exists and enabled on ${key.email}; it authenticates`,
                },
          );
        }
      }
      const docker = await dockerAuthState(registry, { env: input.env });
      items.push(dockerLoginItem(registry, docker, fix));
      return items;
    },

    async teardown({ force }) {
      const g = await gcp();
      const items: TeardownItem[] = [];
      const key = await blockKey();
      const holders = await otherKeyHolders(saEmail);
      // 1. The block and its key.
      items.push(
        ...credentialsBlockTeardown(
          input,
          "prefect.gcp-credentials",
          createdByWp("prefect.gcp-credentials"),
          key.keyId
            ? {
                reason: `with key ${key.keyId}`,
                revoke: async () => {
                  if (key.email)
                    await g.deleteKey(`projects/${project}/serviceAccounts/${key.email}/keys/${key.keyId}`);
                },
              }
            : undefined,
        ),
      );
      const sa = await g.getServiceAccount(saEmail);
      const saUsers = [...new Set([...usedBy("gcp.service-account", saEmail, "service_account_name"), ...holders])];
      const decide = decideTeardown;
      // 2. The project roles of the service account.
      const policy = await g.getIamPolicy();
      const bound = sa ? ROLES.filter((r) => !missingRoles(policy, member).includes(r)) : [];
      items.push(
        decide(
          { step: "gcp.iam-bindings", resource: "Project IAM roles", name: ROLES.join(", "), id: member },
          bound.length > 0,
          createdByWp("gcp.iam-bindings"),
          saUsers,
          async () => {
            for (let i = 0; i < 5; i++) {
              const current = await g.getIamPolicy();
              const bindings = (current.bindings ?? [])
                .map((b) =>
                  ROLES.includes(b.role ?? "") && !b.condition
                    ? { ...b, members: (b.members ?? []).filter((m) => m !== member) }
                    : b,
                )
                .filter((b) => (b.members ?? []).length > 0);
              try {
                await g.setIamPolicy({ ...current, bindings });
                return;
              } catch (err) {
                if (gcpCode(err) !== "ABORTED") throw err;
              }
            }
            throw new CloudError("The project's IAM policy kept changing; run again.", "ABORTED");
          },
        ),
      );
      // 3. The service account (with any keys no block holds).
      items.push(
        decide(
          { step: "gcp.service-account", resource: "Service account", name: saEmail, id: saEmail },
          Boolean(sa),
          createdByWp("gcp.service-account"),
          saUsers,
          () => g.deleteServiceAccount(saEmail),
        ),
      );
      // 4. The repository: kept when it holds images, unless --force.
      const repo = await g.getRepository(repository).catch((err: unknown) => {
        if (gcpCode(err) === "PERMISSION_DENIED" || gcpCode(err) === "FAILED_PRECONDITION") return null;
        throw err;
      });
      const images = repo ? await g.dockerImageCount(repository) : 0;
      items.push(
        decide(
          {
            step: "gcp.repository",
            resource: "Artifact Registry repository",
            name: repository,
            ...(repo?.name ? { id: repo.name } : {}),
          },
          Boolean(repo),
          createdByWp("gcp.repository") || repo?.labels?.[LABEL_MANAGER] === MANAGER,
          usedBy("gcp.repository", repo?.name ?? undefined),
          () => g.deleteRepository(repository, input.note),
          images > 0 && !force ? `holds ${images} image${images === 1 ? "" : "s"} (--force deletes them)` : undefined,
        ),
      );
      for (const s of SERVICES)
        items.push({
          step: s.step,
          resource: "API",
          name: s.id,
          action: "keep",
          reason: "APIs stay enabled (other workloads may use them)",
        });
      return items;
    },

    async rotate(): Promise<RotateResult> {
      if (!input.block)
        throw new WpError(`Work pool '${pool.name}' references no GCP credentials block.`, `Run \`${fix}\`.`);
      const g = await gcp();
      const blockId = input.block.id;
      const full = await input.api.readBlockDocumentById(blockId, true);
      const data = { ...((full?.data ?? {}) as Record<string, unknown>) };
      const old = await blockKey();
      const email = old.email ?? saEmail;
      const keys = await g.listKeys(email);
      const others = keys.filter((k) => keyIdOf(k.name) !== old.keyId);
      if (others.length + (keys.length > others.length ? 1 : 0) >= MAX_KEYS)
        throw new UsageError(
          `Service account ${email} already has ${keys.length} keys (Google's limit is ${MAX_KEYS}).`,
          "Delete unused keys (IAM > Service accounts > Keys) and run again.",
        );
      const spec: CredentialSpec<{ id: string; info: Record<string, unknown> }> = {
        scope: `gcp:${project}:service-account/${email}`,
        noun: "service-account key",
        owner: `service account ${email}`,
        async mint() {
          const k: ServiceAccountKey = await g.createKey(email);
          if (!k.privateKeyData) throw new CloudError(`Google returned no private key data for ${email}.`);
          return { id: keyIdOf(k.name), info: JSON.parse(Buffer.from(k.privateKeyData, "base64").toString("utf8")) };
        },
        revoke: (id) => g.deleteKey(`projects/${project}/serviceAccounts/${email}/keys/${id}`),
        list: async () =>
          (await g.listKeys(email)).map((k) => ({
            id: keyIdOf(k.name),
            ...(k.validAfterTime ? { created: new Date(k.validAfterTime) } : {}),
          })),
        async held() {
          const ids = new Set<string>();
          for (const d of await input.api.listBlockDocuments(BLOCK_TYPE)) {
            if (!d.name) continue;
            const doc = await input.api.readBlockDocument(BLOCK_TYPE, d.name, true);
            const info = (doc?.data as { service_account_info?: { private_key_id?: unknown } } | undefined)
              ?.service_account_info;
            if (typeof info?.private_key_id === "string") ids.add(info.private_key_id);
          }
          return ids;
        },
      };
      await input.guard.recover(spec, input.note);
      const newId = await input.guard.mintInto(
        spec,
        async (k) => {
          await input.api.updateBlockDocument(blockId, { ...data, service_account_info: k.info });
          // The new key must authenticate (a token for it) before the old one goes; Google can take
          // a little while to accept a new key.
          let problem: string | null = "not checked";
          for (let i = 0; i < 8 && problem; i++) {
            problem = await serviceAccountToken(k.info, input.env).then(
              () => null,
              (err: unknown) => (err instanceof Error ? err.message : String(err)),
            );
            if (problem) await new Promise((r) => setTimeout(r, Math.min(250 * 2 ** i, 8000)));
          }
          if (problem) {
            await input.api.updateBlockDocument(blockId, data);
            await g.deleteKey(`projects/${project}/serviceAccounts/${email}/keys/${k.id}`);
            throw new CloudError(
              `The new key ${k.id} does not authenticate (${problem}); the block keeps the old key.`,
            );
          }
          return k.id;
        },
        input.note,
      );
      const oldListed = old.keyId && keys.some((k) => keyIdOf(k.name) === old.keyId);
      if (old.keyId && oldListed) await g.deleteKey(`projects/${project}/serviceAccounts/${email}/keys/${old.keyId}`);
      return {
        block: input.block.name ?? blockId,
        newId,
        ...(old.keyId && oldListed ? { oldId: old.keyId } : {}),
        checked: `an access token was issued for ${email} with the new key ${newId}`,
      };
    },
  };
}
