/** The CloudWatch Logs calls wp makes (see aws.ts): for `wp verify`, the test task's last log lines. */
import type * as Logs from "@aws-sdk/client-cloudwatch-logs";
import { type Calls, calls, pages } from "./call.js";
import type { ClientConfig, LogsApi } from "./sdk.js";

export function logsApi(m: typeof Logs, cfg: ClientConfig, k: Calls = calls()): LogsApi {
  const c = new m.CloudWatchLogsClient(cfg);
  return {
    groupExists: async (name) => {
      const groups = await pages(async (nextToken) => {
        const out = await k.call("logs:DescribeLogGroups", () =>
          c.send(new m.DescribeLogGroupsCommand({ logGroupNamePrefix: name, nextToken })),
        );
        return { items: out.logGroups, next: out.nextToken };
      });
      return groups.some((g) => g.logGroupName === name);
    },
    lastEvents: async (logGroupName, logStreamName, limit) => {
      const out = await k.find("logs:GetLogEvents", ["ResourceNotFoundException"], () =>
        c.send(new m.GetLogEventsCommand({ logGroupName, logStreamName, limit, startFromHead: false })),
      );
      return out ? (out.events ?? []).map((e) => e.message ?? "") : null;
    },
  };
}
