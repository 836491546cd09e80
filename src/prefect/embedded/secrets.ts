/** Prefect's secret-field handling for block document data: obfuscation on read, restore on update. */
import { isObject, type Json } from "./validate.js";

export const OBFUSCATED = "********";

type Flat = [string[], unknown][];

/** Prefect's `dict_to_flatdict`: non-empty objects are walked, anything else is a leaf. */
function flatten(data: Json, parent: string[] = [], out: Flat = []): Flat {
  for (const [k, v] of Object.entries(data)) {
    const path = [...parent, k];
    if (isObject(v) && Object.keys(v).length > 0) flatten(v, path, out);
    else out.push([path, v]);
  }
  return out;
}

function unflatten(flat: Flat): Json {
  const out: Json = {};
  for (const [path, v] of flat) {
    let node = out;
    path.forEach((k, i) => {
      if (i === path.length - 1) {
        node[k] = v;
        return;
      }
      const next = node[k];
      if (isObject(next)) node = next;
      else {
        const created: Json = {};
        node[k] = created;
        node = created;
      }
    });
  }
  return out;
}

const samePrefix = (a: string[], b: string[], n: number): boolean =>
  a.slice(0, n).join("\0") === b.slice(0, n).join("\0");

/**
 * Replaces each secret field (dotted paths; `*` matches everything below its prefix) with "********", as Prefect's
 * `BlockDocument.from_orm_model(include_secrets=False)` does.
 */
export function obfuscate(data: Json, secretFields: unknown): Json {
  if (!Array.isArray(secretFields) || secretFields.length === 0) return data;
  const flat = flatten(data);
  for (const field of secretFields) {
    if (typeof field !== "string") continue;
    const key = field.split(".");
    const exact = flat.find(([p]) => p.join("\0") === key.join("\0"));
    if (exact && exact[1] !== null && exact[1] !== undefined) {
      exact[1] = OBFUSCATED;
    } else if (key.includes("*")) {
      const n = key.indexOf("*");
      for (const entry of flat) if (samePrefix(entry[0], key, n)) entry[1] = OBFUSCATED;
    }
  }
  return unflatten(flat);
}

/**
 * New data for a PATCH: values equal to "********" keep the stored value (clients send back what they read);
 * with `merge`, top-level keys not in `update` are kept (Prefect's `dict.update`).
 */
export function mergeData(current: Json, update: Json, merge: boolean): Json {
  const currentFlat = new Map(flatten(current).map(([p, v]) => [p.join("\0"), v]));
  const restored = unflatten(
    flatten(update).map(([p, v]): [string[], unknown] => {
      const key = p.join("\0");
      return [p, v === OBFUSCATED && currentFlat.has(key) ? currentFlat.get(key) : v];
    }),
  );
  return merge ? { ...current, ...restored } : restored;
}
