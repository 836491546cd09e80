/** "Did you mean": the candidates nearest to a mistyped value (edit distance at most 2), for one-line errors. */
export function nearest(value: string, candidates: readonly string[]): string[] {
  const far = candidates.map((c) => distance(c, value.toLowerCase()));
  const best = Math.min(...far);
  return best <= 2 ? candidates.filter((_c, i) => far[i] === best) : [];
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0] ?? 0;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j] ?? 0;
      d[j] = Math.min(cur + 1, (d[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length] ?? 0;
}
