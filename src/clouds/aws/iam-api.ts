/** The IAM calls wp makes (see aws.ts). */
import type * as Iam from "@aws-sdk/client-iam";
import { type Calls, calls, decode, must, pages } from "./call.js";
import type { ClientConfig, IamApi } from "./sdk.js";

type Teardown =
  | "deleteAccessKey"
  | "detachUserPolicy"
  | "deletePolicy"
  | "listPolicyTags"
  | "deleteUser"
  | "detachRolePolicy"
  | "deleteRolePolicy"
  | "listRolePolicies"
  | "deleteRole"
  | "simulate";

export function iamApi(m: typeof Iam, cfg: ClientConfig, k: Calls = calls()): IamApi {
  const c = new m.IAMClient(cfg);
  return { ...iamApiSetup(m, c, k), ...iamApiKeys(m, c, k), ...iamApiTeardown(m, c, k) };
}

/** A user's access keys. */
function iamApiKeys(m: typeof Iam, c: Iam.IAMClient, k: Calls): Pick<IamApi, Keys> {
  return {
    listAccessKeys: (UserName) =>
      pages(async (Marker) => {
        const out = await k.call("iam:ListAccessKeys", () => c.send(new m.ListAccessKeysCommand({ UserName, Marker })));
        return { items: out.AccessKeyMetadata, next: out.IsTruncated ? out.Marker : undefined };
      }),
    createAccessKey: async (UserName) => {
      const out = await k.call("iam:CreateAccessKey", () => c.send(new m.CreateAccessKeyCommand({ UserName })));
      const key = must(out.AccessKey, "access key");
      return {
        accessKeyId: must(key.AccessKeyId, "access key id"),
        secretAccessKey: must(key.SecretAccessKey, "secret access key"),
      };
    },
  };
}

type Keys = "listAccessKeys" | "createAccessKey";

function iamApiSetup(m: typeof Iam, c: Iam.IAMClient, k: Calls): Omit<IamApi, Teardown | Keys> {
  const noSuch = ["NoSuchEntity", "NoSuchEntityException"];
  return {
    getRole: async (RoleName) =>
      (await k.find("iam:GetRole", noSuch, () => c.send(new m.GetRoleCommand({ RoleName }))))?.Role ?? null,
    createRole: async (input) =>
      must((await k.call("iam:CreateRole", () => c.send(new m.CreateRoleCommand(input)))).Role, "role"),
    attachRolePolicy: async (RoleName, PolicyArn) => {
      await k.call("iam:AttachRolePolicy", () => c.send(new m.AttachRolePolicyCommand({ RoleName, PolicyArn })));
    },
    listAttachedRolePolicies: async (RoleName) =>
      (
        await pages(async (Marker) => {
          const out = await k.call("iam:ListAttachedRolePolicies", () =>
            c.send(new m.ListAttachedRolePoliciesCommand({ RoleName, Marker })),
          );
          return { items: out.AttachedPolicies, next: out.IsTruncated ? out.Marker : undefined };
        })
      ).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])),
    getRolePolicy: async (RoleName, PolicyName) => {
      const out = await k.find("iam:GetRolePolicy", noSuch, () =>
        c.send(new m.GetRolePolicyCommand({ RoleName, PolicyName })),
      );
      return out ? decode(out.PolicyDocument) : null;
    },
    putRolePolicy: async (RoleName, PolicyName, PolicyDocument) => {
      await k.call("iam:PutRolePolicy", () =>
        c.send(new m.PutRolePolicyCommand({ RoleName, PolicyName, PolicyDocument })),
      );
    },
    getUser: async (UserName) =>
      (await k.find("iam:GetUser", noSuch, () => c.send(new m.GetUserCommand({ UserName }))))?.User ?? null,
    createUser: async (input) =>
      must((await k.call("iam:CreateUser", () => c.send(new m.CreateUserCommand(input)))).User, "user"),
    listLocalPolicies: () =>
      pages(async (Marker) => {
        const out = await k.call("iam:ListPolicies", () =>
          c.send(new m.ListPoliciesCommand({ Scope: "Local", Marker })),
        );
        return { items: out.Policies, next: out.IsTruncated ? out.Marker : undefined };
      }),
    getPolicyDocument: async (PolicyArn, VersionId) => {
      const out = await k.call("iam:GetPolicyVersion", () =>
        c.send(new m.GetPolicyVersionCommand({ PolicyArn, VersionId })),
      );
      return decode(out.PolicyVersion?.Document);
    },
    listPolicyVersions: (PolicyArn) =>
      pages(async (Marker) => {
        const out = await k.call("iam:ListPolicyVersions", () =>
          c.send(new m.ListPolicyVersionsCommand({ PolicyArn, Marker })),
        );
        return { items: out.Versions, next: out.IsTruncated ? out.Marker : undefined };
      }),
    createPolicy: async (input) =>
      must((await k.call("iam:CreatePolicy", () => c.send(new m.CreatePolicyCommand(input)))).Policy, "policy"),
    createPolicyVersion: async (PolicyArn, PolicyDocument) => {
      await k.call("iam:CreatePolicyVersion", () =>
        c.send(new m.CreatePolicyVersionCommand({ PolicyArn, PolicyDocument, SetAsDefault: true })),
      );
    },
    deletePolicyVersion: async (PolicyArn, VersionId) => {
      await k.call("iam:DeletePolicyVersion", () => c.send(new m.DeletePolicyVersionCommand({ PolicyArn, VersionId })));
    },
    listAttachedUserPolicies: async (UserName) =>
      (
        await pages(async (Marker) => {
          const out = await k.call("iam:ListAttachedUserPolicies", () =>
            c.send(new m.ListAttachedUserPoliciesCommand({ UserName, Marker })),
          );
          return { items: out.AttachedPolicies, next: out.IsTruncated ? out.Marker : undefined };
        })
      ).flatMap((p) => (p.PolicyArn ? [p.PolicyArn] : [])),
    attachUserPolicy: async (UserName, PolicyArn) => {
      await k.call("iam:AttachUserPolicy", () => c.send(new m.AttachUserPolicyCommand({ UserName, PolicyArn })));
    },
  };
}

/** The calls of a teardown (users, policies, roles). */
function iamApiTeardown(m: typeof Iam, c: Iam.IAMClient, k: Calls): Pick<IamApi, Teardown> {
  return {
    deleteAccessKey: async (UserName, AccessKeyId) => {
      await k.call("iam:DeleteAccessKey", () => c.send(new m.DeleteAccessKeyCommand({ UserName, AccessKeyId })));
    },
    detachUserPolicy: async (UserName, PolicyArn) => {
      await k.call("iam:DetachUserPolicy", () => c.send(new m.DetachUserPolicyCommand({ UserName, PolicyArn })));
    },
    deletePolicy: async (PolicyArn) => {
      await k.call("iam:DeletePolicy", () => c.send(new m.DeletePolicyCommand({ PolicyArn })));
    },
    listPolicyTags: (PolicyArn) =>
      pages(async (Marker) => {
        const out = await k.call("iam:ListPolicyTags", () =>
          c.send(new m.ListPolicyTagsCommand({ PolicyArn, Marker })),
        );
        return { items: out.Tags, next: out.IsTruncated ? out.Marker : undefined };
      }),
    deleteUser: async (UserName) => {
      await k.call("iam:DeleteUser", () => c.send(new m.DeleteUserCommand({ UserName })));
    },
    detachRolePolicy: async (RoleName, PolicyArn) => {
      await k.call("iam:DetachRolePolicy", () => c.send(new m.DetachRolePolicyCommand({ RoleName, PolicyArn })));
    },
    deleteRolePolicy: async (RoleName, PolicyName) => {
      await k.call("iam:DeleteRolePolicy", () => c.send(new m.DeleteRolePolicyCommand({ RoleName, PolicyName })));
    },
    listRolePolicies: (RoleName) =>
      pages(async (Marker) => {
        const out = await k.call("iam:ListRolePolicies", () =>
          c.send(new m.ListRolePoliciesCommand({ RoleName, Marker })),
        );
        return { items: out.PolicyNames, next: out.IsTruncated ? out.Marker : undefined };
      }),
    deleteRole: async (RoleName) => {
      await k.call("iam:DeleteRole", () => c.send(new m.DeleteRoleCommand({ RoleName })));
    },
    simulate: async (PolicySourceArn, ActionNames, resource) =>
      (
        await pages(async (Marker) => {
          const out = await k.call("iam:SimulatePrincipalPolicy", () =>
            c.send(
              new m.SimulatePrincipalPolicyCommand({ PolicySourceArn, ActionNames, ResourceArns: [resource], Marker }),
            ),
          );
          return { items: out.EvaluationResults, next: out.IsTruncated ? out.Marker : undefined };
        })
      ).map((r) => ({ action: r.EvalActionName ?? "", decision: r.EvalDecision ?? "" })),
  };
}
