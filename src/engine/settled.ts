/**
 * Like Promise.all, but waits until every promise has settled before throwing the first failure, so
 * no request of a failed step is still running when the step reports its failure.
 */
export async function settled<T extends readonly unknown[] | []>(
  values: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(values);
  for (const r of results) if (r.status === "rejected") throw r.reason;
  return results.map((r) => (r.status === "fulfilled" ? r.value : undefined)) as {
    -readonly [K in keyof T]: Awaited<T[K]>;
  };
}
