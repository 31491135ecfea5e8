/**
 * The probe's I/O: running one of kvmha's agents with its options on stdin, bounded, and reading
 * a secret that cibsecrets keeps out of the CIB. Everything else in the probe is pure.
 */
import fs from "node:fs";
import path from "node:path";
import { Deadline } from "../../lib/deadline.js";
import { type ProgramResult, runProgram } from "../../lib/program.js";

/** What the probe reads of an agent's run (lib/program.ts's result). */
export type AgentRun = Pick<
  ProgramResult,
  "code" | "stdout" | "stderr" | "timedOut" | "spawnError"
>;

export type Runner = (agentPath: string, stdin: string, timeoutMs: number) => Promise<AgentRun>;

/** Runs an agent with options on stdin, killed at the timeout (lib/program.ts). */
export const spawnRunner: Runner = (agentPath, stdin, timeoutMs) =>
  runProgram(agentPath, [], Deadline.in(timeoutMs), {
    input: stdin,
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    maxOutput: 1 << 20,
  });

/**
 * A value cibsecrets moved out of the CIB ("lrm://" in the CIB) lives in
 * /var/lib/pacemaker/lrm/secrets/<resource>/<parameter> on every node; undefined when not readable here.
 */
export function readCibSecret(
  resource: string,
  parameter: string,
  dir = "/var/lib/pacemaker/lrm/secrets",
): string | undefined {
  if (
    resource.includes("/") ||
    parameter.includes("/") ||
    resource.startsWith(".") ||
    parameter.startsWith(".")
  )
    return undefined;
  try {
    const text = fs.readFileSync(path.join(dir, resource, parameter), "utf8");
    return text.replace(/\r?\n$/, "");
  } catch {
    return undefined;
  }
}
