/**
 * The probe's I/O: running one of kvmha's agents with its options on stdin, bounded, and reading
 * a secret that cibsecrets keeps out of the CIB. Everything else in the probe is pure.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface AgentRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** The agent could not be started (its message). */
  readonly spawnError: string | undefined;
}

export type Runner = (agentPath: string, stdin: string, timeoutMs: number) => Promise<AgentRun>;

/** Runs an agent with options on stdin, killed at the timeout. */
export const spawnRunner: Runner = (agentPath, stdin, timeoutMs) =>
  new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const finish = (r: AgentRun): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(r);
    };
    const child = spawn(agentPath, [], {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LC_ALL: "C" },
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      if (stdout.length < 1 << 20) stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      if (stderr.length < 1 << 20) stderr += d;
    });
    child.on("error", (err) =>
      finish({ code: null, stdout, stderr, timedOut, spawnError: err.message }),
    );
    child.on("close", (code) => finish({ code, stdout, stderr, timedOut, spawnError: undefined }));
    child.stdin.on("error", () => {
      // the agent exited before reading everything: its exit tells why
    });
    child.stdin.end(stdin);
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
