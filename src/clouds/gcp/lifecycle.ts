/**
 * The Cloud Run pool's life beyond its resources' reads and deletes (which the engine walks: the
 * APIs, the repository and Docker's login, the service account, its roles, the credentials block):
 * the target line, the lock, what cannot be known without a record, key rotation (the credentials
 * resource's re-mint) and the removal of a Cloud Run job an interrupted `wp verify` left.
 */

import type { Lifecycle, LifecycleInput, RotateResult } from "../../engine/lifecycle-types.js";
import { WpError } from "../../errors.js";
import { wpCommand } from "../../ui/io.js";
import { finishKeys, rotateKey } from "./credentials.js";
import { gcpContextOf } from "./index.js";
import { BLOCK_TYPE, LABEL_MANAGER, MANAGER } from "./names.js";
import { removeVerifyJob } from "./verify.js";

export function cloudRunLifecycle(input: LifecycleInput): Lifecycle {
  const c = gcpContextOf(input);
  return {
    blockType: BLOCK_TYPE,
    target: async () => `GCP project ${c.project || "?"}, region ${c.region}`,
    lockScopes: async () => (c.project ? [`GCP project ${c.project}`] : []),
    unknowns() {
      if (input.record) return [];
      return [
        "No provisioning record: the service account and the project roles carry no labels, so whether wp created " +
          `them cannot be known; they count as adopted and are never deleted. The repository counts as wp's when labelled ${LABEL_MANAGER}=${MANAGER}.`,
      ];
    },
    async rotate(): Promise<RotateResult> {
      if (!input.block)
        throw new WpError(
          `Work pool '${input.pool.name}' references no GCP credentials block.`,
          `Run \`${wpCommand("provision-infra", input.pool.name)}\`.`,
        );
      return rotateKey(c, input.block, input.note);
    },
    finishCredentials: () => finishKeys(c, input.block, input.note),
    removeLeftover: (leftover) => removeVerifyJob(input, c, leftover),
  };
}
