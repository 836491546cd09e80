// Loaded with `node --import` by the benchmarks: at exit, appends the process's peak RSS (KiB) to
// $WP_BENCH_RSS_FILE and, when set, its CPU time (user + system, µs) to $WP_BENCH_CPU_FILE.
import { appendFileSync } from "node:fs";

process.on("exit", () => {
  const u = process.resourceUsage();
  const file = process.env.WP_BENCH_RSS_FILE;
  if (file) appendFileSync(file, `${u.maxRSS}\n`);
  const cpu = process.env.WP_BENCH_CPU_FILE;
  if (cpu) appendFileSync(cpu, `${u.userCPUTime + u.systemCPUTime}\n`);
});
