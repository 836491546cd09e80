// Loaded with `node --import` by the benchmarks: writes the process's peak RSS (KiB) to $WP_BENCH_RSS_FILE at exit.
import { appendFileSync } from "node:fs";

process.on("exit", () => {
  const file = process.env.WP_BENCH_RSS_FILE;
  if (file) appendFileSync(file, `${process.resourceUsage().maxRSS}\n`);
});
