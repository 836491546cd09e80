/** The only place that sets the process exit code. */
import { main } from "./main.js";
import { processIO } from "./ui/io.js";

process.once("SIGINT", () => {
  process.exitCode = 130;
  process.exit(130);
});

main(process.argv.slice(2), { io: processIO(), env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`wp: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
