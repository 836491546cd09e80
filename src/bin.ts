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
// Node's and libraries' warnings (deprecations, SDK notices) as one escaped line, never a dump.
process.removeAllListeners("warning");
process.on("warning", (w) => {
  process.stderr.write(`wp: warning: ${safeText(`${w.name}: ${w.message}`.split("\n")[0] ?? "").slice(0, 300)}\n`);
});

main(process.argv.slice(2), { io: processIO(), env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wp: ${safeText(String(err))}\n`);
    process.exitCode = 1;
  },
);
