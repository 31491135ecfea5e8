/**
 * What the IPMI fence tests share: fence_ipmi's options for a lab BMC, and the shape every
 * failure must have (exit 1, one line on stderr, no success, no stack trace).
 */
import assert from "node:assert/strict";
import type { RunResult } from "./clients.js";
import { ADMIN_USER, type LabUser } from "./ipmi-users.js";

export type AgentOptions = Record<string, string | number | boolean | undefined>;

/** key=value options for fence_ipmi (or fence_ipmilan) against a lab BMC, as the admin user. */
export function ipmiTarget(
  bmc: { host: string; port: number },
  extra: AgentOptions = {},
  user: Readonly<LabUser> = ADMIN_USER,
): AgentOptions {
  return {
    ip: bmc.host,
    ipport: bmc.port,
    username: user.name,
    password: user.password,
    ...extra,
  };
}

/** Failures end with exit 1 and exactly one line on stderr. */
export function assertOneLineFailure(
  r: Pick<RunResult, "code" | "stderr" | "stdout">,
  pattern: RegExp,
): void {
  assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line on stderr, got: ${r.stderr}`);
  assert.match(lines[0] as string, pattern);
  assert.doesNotMatch(r.stdout, /Success/);
  assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
}
