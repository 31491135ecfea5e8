// Independent IPMI clients for lab tests: ipmitool and the reference
// fence_ipmilan. Passwords travel in the environment (ipmitool -E) or on
// stdin (fence agents), never in our argv.

import { Deadline } from "../../lib/deadline.js";
import { runProgram } from "../../lib/program.js";
import { requireProgram } from "./bins.js";
import type { LabGeneration } from "./generation.js";
import { ADMIN_USER, LAB_CIPHER_SUITE, type LabUser } from "./ipmi-bmc.js";

export interface IpmiTarget {
  host: string;
  port: number;
}

export interface RunResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The argv we ran (program first): never holds a password. */
  argv: string[];
  ms: number;
  /** True when we killed it for running past its time limit. */
  timedOut: boolean;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Kill the process (only it) after this long; default 30 s. */
  killAfterMs?: number;
}

/**
 * `sh -c SCRIPT` with ARGS as $1… in a private mount namespace of its own: what the script mounts
 * (a tmpfs over a directory, an overlay) is seen by it and its children only, and is gone with it.
 */
export function inPrivateMounts(
  script: string,
  args: readonly string[] = [],
): { program: string; args: string[] } {
  return {
    program: "unshare",
    args: ["--mount", "--propagation", "private", "--", "/bin/sh", "-c", script, "sh", ...args],
  };
}

/**
 * Run one program to completion with a hard time limit (lib/program.ts, the runner the agents use);
 * rejects when it cannot start at all.
 */
export async function run(
  program: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  const r = await runProgram(program, args, Deadline.in(opts.killAfterMs ?? 30_000), {
    env: opts.env ?? process.env,
    input: opts.input,
    maxOutput: 256 << 20,
    minMs: 0,
    // A lab tool's helpers may write a moment after it exits: wait for them, boundedly.
    drainMs: 5_000,
  });
  if (r.spawnError !== undefined) throw new Error(`cannot run ${program}: ${r.spawnError}`);
  return {
    code: r.code ?? null,
    signal: r.signal ?? null,
    stdout: r.stdout,
    stderr: r.stderr,
    argv: [program, ...args],
    ms: r.ms,
    timedOut: r.timedOut,
  };
}

export interface IpmitoolOptions {
  user?: LabUser;
  /** 'lanplus' (RMCP+, default) or 'lan' (IPMI 1.5). */
  iface?: "lanplus" | "lan";
  /** RMCP+ cipher suite; default {@link LAB_CIPHER_SUITE}. */
  cipher?: number;
  /** Session privilege to ask for (-L); ipmitool's default is ADMINISTRATOR. */
  privilege?: "USER" | "OPERATOR" | "ADMINISTRATOR";
  /** IPMI 1.5 authentication type (-A). */
  authType?: "MD5" | "PASSWORD" | "NONE";
  /** -N: seconds between retransmissions. */
  timeoutSec?: number;
  /** -R: number of retries. */
  retries?: number;
  killAfterMs?: number;
  /** The lab generation whose ipmitool to run (generation.ts); default the host's. */
  generation?: LabGeneration;
}

/** Run `ipmitool` against a lab target; the password goes in IPMI_PASSWORD (-E). */
export function ipmitool(
  target: IpmiTarget,
  args: readonly string[],
  opts: IpmitoolOptions = {},
): Promise<RunResult> {
  const user = opts.user ?? ADMIN_USER;
  const iface = opts.iface ?? "lanplus";
  const argv = ["-I", iface, "-H", target.host, "-p", String(target.port), "-U", user.name, "-E"];
  if (iface === "lanplus") argv.push("-C", String(opts.cipher ?? LAB_CIPHER_SUITE));
  if (opts.privilege) argv.push("-L", opts.privilege);
  if (opts.authType) argv.push("-A", opts.authType);
  if (opts.timeoutSec !== undefined) argv.push("-N", String(opts.timeoutSec));
  if (opts.retries !== undefined) argv.push("-R", String(opts.retries));
  argv.push(...args);
  const gen = opts.generation;
  const runOptions = {
    env: { ...process.env, IPMI_PASSWORD: user.password, LC_ALL: "C" },
    killAfterMs: opts.killAfterMs,
  };
  return gen === undefined
    ? run(requireProgram("ipmitool"), argv, runOptions)
    : gen.run(gen.requireProgram("ipmitool"), argv, runOptions);
}

export interface FenceIpmilanOptions {
  user?: LabUser;
  lanplus?: boolean;
  cipher?: number;
  /** Extra key=value options for the agent (e.g. { power_timeout: '5' }). */
  extra?: Record<string, string>;
  killAfterMs?: number;
  /** The lab generation whose fence_ipmilan to run (generation.ts); default the host's. */
  generation?: LabGeneration;
}

/**
 * Run the reference `fence_ipmilan` with its options as key=value lines on
 * stdin (no argv), the way Pacemaker's fencer runs agents.
 * Exit codes: 0 success (status: on), 2 status: off, 1 failure.
 */
export function fenceIpmilan(
  target: IpmiTarget,
  action: string,
  opts: FenceIpmilanOptions = {},
): Promise<RunResult> {
  const user = opts.user ?? ADMIN_USER;
  const lines: Record<string, string> = {
    action,
    ip: target.host,
    ipport: String(target.port),
    username: user.name,
    password: user.password,
  };
  if (opts.lanplus ?? true) {
    lines.lanplus = "1";
    lines.cipher = String(opts.cipher ?? LAB_CIPHER_SUITE);
  }
  Object.assign(lines, opts.extra);
  const input = Object.entries(lines)
    .map(([k, v]) => `${k}=${v}\n`)
    .join("");
  const gen = opts.generation;
  const runOptions = {
    input,
    env: { ...process.env, LC_ALL: "C" },
    killAfterMs: opts.killAfterMs ?? 60_000,
  };
  return gen === undefined
    ? run(requireProgram("fence_ipmilan"), [], runOptions)
    : gen.run(gen.requireProgram("fence_ipmilan"), [], runOptions);
}
