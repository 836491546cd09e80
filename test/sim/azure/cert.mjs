// @ts-check
/**
 * A self-signed certificate for 127.0.0.1 / localhost, made when the simulator starts, with the
 * `openssl` command line tool (present on Linux and macOS; Node has no X.509 writer). The key and
 * certificate are written to a fresh temp folder (mode 0700); the private key is read into memory and
 * its file deleted at once, so no key is left on disk; `certFile` (public) is what NODE_EXTRA_CA_CERTS
 * points at, and the simulator's close() removes the folder.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** @returns {Promise<import("./server.d.mts").SimCertificate>} */
export async function makeCertificate() {
  const dir = mkdtempSync(join(tmpdir(), "wp-azure-sim-"));
  const keyFile = join(dir, "key.pem");
  const certFile = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-sha256",
      "-days",
      "2",
      "-subj",
      "/CN=127.0.0.1",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      keyFile,
      "-out",
      certFile,
    ],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  try {
    return { dir, keyFile, certFile, key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8") };
  } finally {
    rmSync(keyFile, { force: true });
  }
}
