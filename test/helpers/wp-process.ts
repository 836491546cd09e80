/** The built CLI (`node bin/wp.js`) as a child process, for tests of signals and concurrent runs. */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

const BIN = join(process.cwd(), "bin", "wp.js");

export interface WpProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when stderr contains `text`; rejects after 45 s or when the process exits first. */
  waitFor(text: string): Promise<void>;
}

/** Throws unless dist/ is built (`npm test` builds first). */
export function requireBuilt(): void {
  if (!existsSync(join(process.cwd(), "dist", "bin.js"))) throw new Error("dist/ is missing: run `npm run build`");
}

/** `nodeArgs` go before the script (`--import …`). */
export function wpProcess(args: string[], env: Record<string, string>, nodeArgs: string[] = []): WpProcess {
  const child = spawn(process.execPath, [...nodeArgs, BIN, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const waiters: Array<{ text: string; resolve: () => void }> = [];
  child.stdout?.on("data", (d) => {
    out += String(d);
  });
  child.stderr?.on("data", (d) => {
    err += String(d);
    for (const w of waiters.splice(0)) {
      if (err.includes(w.text)) w.resolve();
      else waiters.push(w);
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    waitFor: (text) =>
      new Promise<void>((resolve, reject) => {
        if (err.includes(text)) return resolve();
        const timer = setTimeout(() => reject(new Error(`no "${text}" on stderr:\n${err}`)), 45_000);
        waiters.push({
          text,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
        void exit.then(() => setTimeout(() => reject(new Error(`exited before "${text}":\n${err}`)), 50));
      }),
  };
}
