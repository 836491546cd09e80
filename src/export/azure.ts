/**
 * ACI pools in `azurerm` + `azuread` terms. ARM resources import by their ARM id (the record's id,
 * with the `resourceGroups` segment in the case azurerm's id parser expects: Azure answers some ids
 * with `resourcegroups`); the app registration by `/applications/{object id}` and its service
 * principal by `/servicePrincipals/{object id}` (azuread 3.x). The record holds the app's client id,
 * so the app's object id comes from the `azuread_application` data source: an import id may be an
 * expression known at plan time (https://developer.hashicorp.com/terraform/language/import#import-id,
 * Terraform 1.6+), and a data source with constant arguments is read during the plan. The client
 * secret is not handed over (see SECRET_REASON); resource-provider registrations are not resources.
 */

import type { RecordResource } from "../engine/record.js";
import { expr, labelOf, type Value } from "./hcl.js";
import { emptyMapped, entry, from, type Mapped, type PoolInput, ref, type TfResource } from "./model.js";

export const SECRET_REASON =
  "the client secret stays outside Terraform: azuread_application_password cannot be imported, and one Terraform " +
  "creates keeps its value in the state. `wp rotate-credentials` keeps rotating it; the block gets it through an " +
  "ephemeral variable at apply time.";

/** `/subscriptions/x/resourcegroups/y/…` → `/subscriptions/x/resourceGroups/y/…`. */
export function armId(id: string): string {
  return id.replace(/^\/subscriptions\//i, "/subscriptions/").replace(/\/resourcegroups\//i, "/resourceGroups/");
}

const subscriptionOf = (id: string | undefined) => /^\/subscriptions\/([^/]+)/i.exec(id ?? "")?.[1];
const lastSegment = (id: string) => id.split("/").pop() ?? id;

/** The tags wp puts on the group, registry and identity (src/clouds/azure/context.ts `tags`). */
const tags = (pool: string): Value => ({ "prefect.io.work-pool": pool.slice(0, 256), "managed-by": "wp" });

/** What every Azure entry's mapping shares. */
interface Az {
  out: Mapped;
  record: PoolInput["record"];
  pool: string;
  location: string;
  rm(r: Omit<TfResource, "mode" | "cloud" | "provider">): void;
  ad(r: Omit<TfResource, "cloud">): void;
  key(type: string, id: string): string;
  own(created: boolean): Array<[string, Value]>;
  ignore(created: boolean): { ignore?: string[] };
}

export function mapAzure(input: PoolInput): Mapped {
  const { record } = input;
  const out = emptyMapped();
  const pool = record.work_pool;
  const location = record.context.location ?? "eastus";
  const group = entry(record, "azure.resource-group");
  const sub = subscriptionOf(group?.id) ?? record.context.subscription ?? "";
  const tenant = typeof input.block?.data?.tenant_id === "string" ? input.block.data.tenant_id : undefined;
  const alias = labelOf(`subscription_${sub}`);
  out.providers.push({
    cloud: "azure",
    name: "azurerm",
    alias,
    attrs: [["subscription_id", sub]],
    emptyBlocks: ["features"],
  });
  out.providers.push({
    cloud: "azure",
    name: "azuread",
    ...(tenant ? { attrs: [["tenant_id", tenant]] } : { attrs: [] }),
  });
  const rm = (r: Omit<TfResource, "mode" | "cloud" | "provider">) =>
    out.resources.push({ mode: "resource", cloud: "azure", provider: `azurerm.${alias}`, ...r });
  const ad = (r: Omit<TfResource, "cloud">) => out.resources.push({ cloud: "azure", ...r });
  const key = (type: string, id: string) => `azure/${type}/${id.toLowerCase()}`;
  const own = (created: boolean) => (created ? [["tags", tags(pool)] as [string, Value]] : []);
  const ignore = (created: boolean) => (created ? {} : { ignore: ["tags"] });

  const providers = entry(record, "azure.resource-providers");
  if (providers)
    out.notManaged.push({
      pool,
      step: providers.step,
      kind: providers.kind,
      name: providers.name,
      reason: "resource-provider registrations are subscription settings; azurerm registers what it needs itself",
    });

  const az: Az = { out, record, pool, location, rm, ad, key, own, ignore };
  if (group?.id) mapGroup(az, group);
  mapApp(az);
  mapRoles(az, mapRegistry(az));
  return out;
}

/** The resource group (by ARM id). */
function mapGroup(az: Az, group: RecordResource): void {
  const { record, location, rm, key, own, ignore } = az;
  if (group.id) {
    rm({
      ...from(record, group),
      type: "azurerm_resource_group",
      name: group.name,
      key: key("azurerm_resource_group", armId(group.id)),
      importId: armId(group.id),
      attrs: [["name", group.name], ["location", location], ...own(group.created)],
      ...ignore(group.created),
    });
  }
}

/** The app registration (by its object id, looked up from the client id) and its service principal; the client secret stays with wp. */
function mapApp(az: Az): void {
  const { out, record, pool, ad, key, ignore } = az;
  const app = entry(record, "azure.app-registration");
  const appKey = app?.id ? key("azuread_application", app.id) : "";
  if (app?.id) {
    const lookup = key("data.azuread_application", app.id);
    ad({
      mode: "data",
      ...from(record, app),
      adopted: false,
      derived: true,
      type: "azuread_application",
      name: app.name,
      key: lookup,
      attrs: [["client_id", app.id]],
      comments: ["Finds the app registration's object id, which its import needs (the record holds its client id)."],
    });
    ad({
      mode: "resource",
      ...from(record, app),
      type: "azuread_application",
      name: app.name,
      key: appKey,
      // An expression Terraform evaluates at plan time, after reading the data source.
      importId: expr(`"/applications/\${${ref(lookup, "object_id").expr}}"`),
      attrs: [["display_name", app.name], ...(app.created ? [["tags", ["managed-by:wp"]] as [string, Value]] : [])],
      ...ignore(app.created),
    });
    out.notManaged.push({
      pool,
      step: "azure.client-secret",
      kind: "Client secret",
      name: `of app ${app.name}`,
      reason: SECRET_REASON,
    });
  }

  const sp = entry(record, "azure.service-principal");
  if (sp?.id) {
    ad({
      mode: "resource",
      ...from(record, sp),
      type: "azuread_service_principal",
      name: sp.name,
      key: key("azuread_service_principal", sp.id),
      importId: `/servicePrincipals/${sp.id}`,
      attrs: [["client_id", app?.id ? ref(appKey, "client_id") : ""]],
    });
  }
}

/** The registry and the identity (by ARM id); answers the identity's key, for AcrPull's principal. */
function mapRegistry(az: Az): string {
  const { record, location, rm, key, own, ignore } = az;
  const registry = entry(record, "azure.container-registry");
  if (registry?.id) {
    const id = armId(registry.id);
    rm({
      ...from(record, registry),
      type: "azurerm_container_registry",
      name: registry.name,
      key: key("azurerm_container_registry", id),
      importId: id,
      attrs: [
        ["name", lastSegment(id)],
        ["resource_group_name", id.split("/")[4] ?? ""],
        ["location", location],
        ["sku", "Basic"],
        ["admin_enabled", false],
        ...own(registry.created),
      ],
      ...ignore(registry.created),
    });
  }

  const identity = entry(record, "azure.identity");
  const identityKey = identity?.id ? key("azurerm_user_assigned_identity", armId(identity.id)) : "";
  if (identity?.id) {
    const id = armId(identity.id);
    rm({
      ...from(record, identity),
      type: "azurerm_user_assigned_identity",
      name: identity.name,
      key: identityKey,
      importId: id,
      attrs: [
        ["name", lastSegment(id)],
        ["resource_group_name", id.split("/")[4] ?? ""],
        ["location", location],
        ...own(identity.created),
      ],
      ...ignore(identity.created),
    });
  }

  return identityKey;
}

/** Contributor on the group for the service principal, AcrPull on the registry for the identity (by ARM id). */
function mapRoles(az: Az, identityKey: string): void {
  const { record, rm, key } = az;
  const sp = entry(record, "azure.service-principal");
  const roles: Array<[string, string, Value]> = [
    ["azure.contributor-role", "Contributor", sp?.id ?? ""],
    ["azure.acrpull-role", "AcrPull", identityKey ? ref(identityKey, "principal_id") : ""],
  ];
  for (const [step, role, principal] of roles) {
    const r = entry(record, step);
    if (!r?.id) continue;
    const id = armId(r.id);
    rm({
      ...from(record, r),
      type: "azurerm_role_assignment",
      name: r.name.split(" for ")[0] ?? r.name,
      key: key("azurerm_role_assignment", id),
      importId: id,
      attrs: [
        ["scope", id.split("/providers/Microsoft.Authorization/roleAssignments/")[0] ?? ""],
        ["role_definition_name", role],
        ["principal_id", principal],
      ],
    });
  }
}
