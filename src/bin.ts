/** The only place that sets the process exit code. */
import { installSignalHandlers } from "./interrupt.js";
import { main } from "./main.js";
import { processIO, safeText } from "./ui/io.js";

installSignalHandlers(
  (code) => {
    process.exitCode = code;
    process.exit(code);
  },
  (line) => process.stderr.write(`${line}\n`),
);
// The AWS SDK warns on every run under Node 20 (its own support window, not wp's): it reads this variable
// when a client is made, long after this line. A user who sets it keeps their value.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
// Node's and wp's warnings as one escaped line, never a dump. A warning raised from inside a dependency
// (an SDK's notice, a deprecated Node API a package calls) is not the user's to act on: shown with --debug only.
const debug = process.argv.includes("--debug");
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (!debug && fromDependency(w)) return;
  process.stderr.write(`wp: warning: ${safeText(`${w.name}: ${w.message}`.split("\n")[0] ?? "").slice(0, 300)}\n`);
});

/** Whether the first stack frame outside Node's own code is in a package under node_modules/. */
function fromDependency(w: Error): boolean {
  const frames = (w.stack ?? "").split("\n").filter((l) => /^\s+at /.test(l));
  const first = frames.find((l) => !/\(node:|at node:|\(<anonymous>\)/.test(l));
  return first !== undefined && /[/\\]node_modules[/\\]/.test(first);
}

main(process.argv.slice(2), { io: processIO(), env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wp: ${safeText(String(err))}\n`);
    process.exitCode = 1;
  },
);
