/** Prefect's VPC CIDR search (spec §5.4), as pure functions. */

const toInt = (ip: string): number => {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`Invalid IPv4 address ${JSON.stringify(ip)}`);
  }
  return parts.reduce((acc, p) => acc * 256 + p, 0);
};

const toIp = (n: number): string => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

function range(cidr: string): { start: number; end: number; prefix: number } {
  const [ip = "", bits = ""] = cidr.split("/");
  const prefix = Number(bits);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`Invalid CIDR ${JSON.stringify(cidr)}`);
  const size = 2 ** (32 - prefix);
  const start = Math.floor(toInt(ip) / size) * size;
  return { start, end: start + size - 1, prefix };
}

export function overlaps(a: string, b: string): boolean {
  const x = range(a);
  const y = range(b);
  return x.start <= y.end && y.start <= x.end;
}

/**
 * The first CIDR from `base` (stepping by its own size: 172.31/16, 172.32/16, …) that overlaps none
 * of `taken`; throws Prefect's message when the address space runs out.
 */
export function nextFreeCidr(taken: string[], base = "172.31.0.0/16"): string {
  const { start, prefix } = range(base);
  const size = 2 ** (32 - prefix);
  for (let n = start; n + size - 1 <= 0xffffffff; n += size) {
    const candidate = `${toIp(n)}/${prefix}`;
    if (!taken.some((t) => overlaps(candidate, t))) return candidate;
  }
  throw new Error("Unable to find a non-overlapping CIDR block in the default range");
}

/** The first `count` subnets of `cidr` at prefix + 2 (four quarters; Prefect uses three). */
export function subnetCidrs(cidr: string, count = 3): string[] {
  const { start, prefix } = range(cidr);
  if (prefix + 2 > 32) throw new Error(`CIDR ${cidr} is too small to split`);
  const size = 2 ** (32 - prefix - 2);
  return Array.from({ length: Math.min(count, 4) }, (_, i) => `${toIp(start + i * size)}/${prefix + 2}`);
}
