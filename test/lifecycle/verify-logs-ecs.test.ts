import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DeleteLogGroupCommand,
  PutLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import { DescribeTaskDefinitionCommand, ECSClient, ListTasksCommand } from "@aws-sdk/client-ecs";
import { beforeEach, describe, expect, it } from "vitest";
import { recordName } from "../../src/engine/record.js";
import { connect } from "../../src/prefect/client.js";
import { loadSettings } from "../../src/prefect/settings.js";
import { awsWpEnv, requireMoto, useMoto } from "../helpers/moto.js";
import { runCli } from "../helpers/run-cli.js";

const hasMoto = requireMoto("test/lifecycle/verify-logs-ecs.test.ts (wp verify log lines, against moto)");
const CLUSTER = "prefect-ecs-cluster";

describe.skipIf(!hasMoto)("wp verify reads the ECS task's log lines", () => {
  const sim = useMoto();
  let env: Record<string, string>;
  beforeEach(() => {
    const t = awsWpEnv(sim.proxy.url, { WP_VERIFY_POLL_MS: "20" });
    env = t.env;
    return t.cleanup;
  });
  const seen = new Set<string>();
  const admin = { region: "us-east-1", endpoint: "" };
  const ecs = () => new ECSClient({ ...admin, endpoint: sim.moto.url });
  const logs = () => new CloudWatchLogsClient({ ...admin, endpoint: sim.moto.url });
  const transition = (times: number) =>
    fetch(`${sim.moto.url}/moto-api/state-manager/set-transition`, {
      method: "POST",
      body: JSON.stringify({ model_name: "ecs::task", transition: { progression: "manual", times } }),
    });

  /**
   * Runs `wp verify` with the task held RUNNING; once it runs, `during` sees its log options and
   * stream (and may write lines), then the task is let go.
   */
  async function verifyWhile(
    argv: string[],
    during: (o: { options: Record<string, string> | undefined; stream: string }) => Promise<void>,
  ) {
    await transition(100000);
    try {
      const run = runCli(["verify", ...argv], { env });
      let taskArn: string | undefined;
      for (let i = 0; i < 400 && !taskArn; i++) {
        // moto lists a task verify stopped earlier as still desired RUNNING: only a new one counts.
        taskArn = (await ecs().send(new ListTasksCommand({ cluster: CLUSTER }))).taskArns?.find((t) => !seen.has(t));
        if (!taskArn) await new Promise((r) => setTimeout(r, 25));
      }
      expect(taskArn, "verify started no task").toBeDefined();
      seen.add(taskArn ?? "");
      const { DescribeTasksCommand } = await import("@aws-sdk/client-ecs");
      const task = (await ecs().send(new DescribeTasksCommand({ cluster: CLUSTER, tasks: [taskArn ?? ""] })))
        .tasks?.[0];
      const td = await ecs().send(new DescribeTaskDefinitionCommand({ taskDefinition: task?.taskDefinitionArn }));
      const container = td.taskDefinition?.containerDefinitions?.[0];
      await during({
        options: container?.logConfiguration?.options,
        stream: `wp-verify/${container?.name}/${taskArn?.split("/").pop()}`,
      });
      await transition(1);
      return await run;
    } finally {
      await fetch(`${sim.moto.url}/moto-api/state-manager/unset-transition`, {
        method: "POST",
        body: JSON.stringify({ model_name: "ecs::task" }),
      });
    }
  }
  const put = async (stream: string, lines: string[]) => {
    await logs()
      .send(new CreateLogGroupCommand({ logGroupName: "prefect" }))
      .catch((e: Error) => {
        if (e.name !== "ResourceAlreadyExistsException") throw e;
      });
    await logs().send(new CreateLogStreamCommand({ logGroupName: "prefect", logStreamName: stream }));
    const t = Date.now();
    await logs().send(
      new PutLogEventsCommand({
        logGroupName: "prefect",
        logStreamName: stream,
        logEvents: lines.map((message, i) => ({ message, timestamp: t + i })),
      }),
    );
  };

  it("the task logs to CloudWatch as Prefect's worker configures it; the last lines are reported, escaped", async () => {
    const created = await runCli(["create", "lg", "--type", "ecs:push", "--provision-infra", "--yes"], { env });
    expect(created.code, created.stderr).toBe(0);

    const dry = await runCli(["verify", "lg", "--dry-run"], { env });
    expect(dry.stdout).toContain("  logs read from CloudWatch Logs group prefect, stream prefix wp-verify\n");

    // No log group yet: the execution role wp set up creates it (awslogs-create-group).
    const lines = Array.from({ length: 12 }, (_, i) => `line ${i + 1}`);
    const first = await verifyWhile(["lg", "-o", "json"], async ({ options, stream }) => {
      expect(options).toEqual({
        "awslogs-group": "prefect",
        "awslogs-region": "us-east-1",
        "awslogs-stream-prefix": "wp-verify",
        "awslogs-create-group": "true",
      });
      await put(stream, lines);
    });
    expect(first.code, first.stderr).toBe(0);
    const r = JSON.parse(first.stdout);
    expect(r.logs).toEqual(lines.slice(2));
    expect(r.logsNote).toBeUndefined();
    expect(r.kept[0]).toMatch(/^log group prefect \(made by the task's log driver/);
    expect(r.kept[1]).toMatch(/^log stream prefect:wp-verify\/prefect\/\S+ /);

    // The group exists now: no create-group; a line with terminal escapes is shown escaped.
    const second = await verifyWhile(["lg"], async ({ options, stream }) => {
      expect(options?.["awslogs-create-group"]).toBeUndefined();
      await put(stream, ["wp verify: work pool lg can run a task", "\u001b[31mred\u001b[0m\u0007"]);
    });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain("Last log lines:\n  wp verify: work pool lg can run a task\n");
    expect(second.stdout).not.toContain("\u001b");
    expect(second.stdout).not.toContain("\u0007");
    expect(second.stdout).toMatch(/Kept: log stream prefect:wp-verify\/prefect\//);

    // A stream the task never wrote: verify passes and says so.
    const silent = await verifyWhile(["lg", "-o", "json"], async () => {});
    expect(silent.code, silent.stderr).toBe(0);
    expect(JSON.parse(silent.stdout).logsNote).toMatch(
      /^CloudWatch Logs holds no stream wp-verify\/prefect\/\S+ in log group prefect$/,
    );
  });

  it("no log group and an execution role wp did not set up: the task runs without logs and the report says why", async () => {
    const created = await runCli(["create", "nl", "--type", "ecs:push", "--provision-infra", "--yes"], { env });
    expect(created.code, created.stderr).toBe(0);
    await logs()
      .send(new DeleteLogGroupCommand({ logGroupName: "prefect" }))
      .catch(() => {});
    // As for a pool made by Prefect's own CLI: no record of what set the execution role up.
    const api = await connect(await loadSettings(env), { env });
    try {
      const doc = await api.readBlockDocument("wp-provisioning-record", recordName("nl"));
      if (doc) await api.deleteBlockDocument(doc.id);
    } finally {
      api.close();
    }
    const dry = await runCli(["verify", "nl", "--dry-run"], { env });
    expect(dry.stdout).toContain("  no logs: log group prefect does not exist");
    const v = await verifyWhile(["nl"], async ({ options }) => {
      expect(options).toBeUndefined();
    });
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout).toContain(
      "No log lines: log group prefect does not exist and the execution role is not known to be allowed to create it (`wp provision-infra nl` grants it)",
    );
  });
});
