/**
 * `npm run sim:gcp -- --port N [--project ID]... [--latency-ms N] [--realistic [real|short]]`: starts the Google Cloud simulator on 127.0.0.1,
 * writes an ADC file for it, prints the `export NAME=value` lines that point wp at it (one
 * project, ready to provision), then serves until stopped (Ctrl-C). Control: GET /_sim/requests
 * (the request log), GET /_sim/state, POST /_sim/keys-forbidden?value=true|false, POST
 * /_sim/fault?name=NAME&value=true|false (a behaviour of realism.ts by name).
 *
 * `--realistic` (or WP_GCP_SIM_REALISTIC=real|short) models time as Google documents it, with
 * Google's lengths: new IAM bindings take effect after ~2 minutes (sometimes 7+), a new service
 * account and a new key are usable after ~1 minute, one poll of each operation answers 503, and
 * every list pages. `--realistic short` uses lags of about a second.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GcpSim } from "./server.js";

const args = process.argv.slice(2);
const opt = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const projects = args.flatMap((a, i) => (a === "--project" && args[i + 1] ? [args[i + 1] as string] : []));
const flag = args.includes("--realistic")
  ? opt("--realistic") === "short"
    ? "short"
    : "real"
  : process.env.WP_GCP_SIM_REALISTIC;
const realistic = flag === "short" ? "short" : flag && flag !== "false" && flag !== "0" ? "real" : false;
const sim = new GcpSim({
  projects: projects.length ? projects : ["wp-sim-project"],
  latencyMs: Number(opt("--latency-ms") ?? 0),
  realistic,
});
const url = await sim.start(Number(opt("--port") ?? 0));
const dir = mkdtempSync(join(tmpdir(), "wp-gcp-sim-"));
const adc = join(dir, "application_default_credentials.json");
writeFileSync(adc, sim.adcFile(), { mode: 0o600 });
const first = [...sim.projects.keys()][0] ?? "wp-sim-project";
const exports: Record<string, string> = {
  WP_GCP_ENDPOINT: url,
  GOOGLE_APPLICATION_CREDENTIALS: adc,
  GOOGLE_CLOUD_PROJECT: first,
  METADATA_SERVER_DETECTION: "none",
  WP_GCP_POLL_MS: "100",
};
for (const [k, v] of Object.entries(exports)) process.stdout.write(`export ${k}=${v}\n`);
const mode = realistic ? `, realistic (${realistic} lags: ${JSON.stringify(sim.realism.lags)})` : "";
process.stderr.write(`GCP simulator serving ${url} (project ${first}${mode}); Ctrl-C to stop.\n`);
const stop = () => {
  void sim.stop().finally(() => {
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
