// @ts-check
/**
 * A self-signed certificate for 127.0.0.1 / localhost, made when the simulator starts, with the
 * `openssl` command line tool (present on Linux and macOS; Node has no X.509 writer). The key and
 * certificate live in a fresh temp folder; `certFile` is what NODE_EXTRA_CA_CERTS points at.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
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
  return { dir, keyFile, certFile, key: readFileSync(keyFile, "utf8"), cert: readFileSync(certFile, "utf8") };
}
