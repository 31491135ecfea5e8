/**
 * Running `virsh`, always bounded (lib/program.ts): every call gets a deadline (the OCF op deadline
 * or an earlier one) and is killed when it passes, so a hung libvirtd becomes a clear reason
 * instead of an op timeout.
 */
import { type Deadline, secs } from "../deadline.js";
import { MIN_RUN_MS, type ProgramResult, runProgram } from "../program.js";

export interface VirshOptions {
  /** Connection URI (`--connect`); unset: virsh's own default (LIBVIRT_DEFAULT_URI, then its config). */
  readonly uri?: string | undefined;
  /** The program; default `virsh` on PATH. */
  readonly program?: string;
  /** Environment for virsh (the OCF context's childEnv: LC_ALL=C). */
  readonly env?: Record<string, string>;
  /** Aborts the call (the OCF context's signal): a time-out like the deadline's. */
  readonly signal?: AbortSignal;
}

export interface VirshResult extends ProgramResult {
  /** The arguments virsh was run with (--connect and --quiet included). */
  readonly args: readonly string[];
}

/** The least time a call is given: below this it is not even started. */
export const MIN_CALL_MS = MIN_RUN_MS;

/** The first line of virsh's error output, without the `error: ` prefixes: for reasons and logs. */
export function virshMessage(r: VirshResult): string {
  const lines = `${r.stderr}\n${r.stdout}`
    .split("\n")
    .map((l) => l.trim().replace(/^error:\s*/i, ""))
    .filter((l) => l !== "");
  return lines.join("; ").slice(0, 400);
}

/** Runs `virsh [--connect URI] --quiet ARGS` until it exits or `deadline` passes. Never throws. */
export async function virsh(
  args: readonly string[],
  deadline: Deadline,
  opts: VirshOptions = {},
): Promise<VirshResult> {
  const full = [
    ...(opts.uri !== undefined && opts.uri !== "" ? ["--connect", opts.uri] : []),
    "--quiet",
    ...args,
  ];
  const r = await runProgram(opts.program ?? "virsh", full, deadline, {
    env: opts.env,
    signal: opts.signal,
    minMs: MIN_CALL_MS,
  });
  return { ...r, args: full };
}

/** How one action reaches libvirt: the URI, virsh's environment, the op's abort signal, its log. */
export interface LibvirtSession {
  /** The hypervisor URI; undefined: virsh's default. */
  readonly uri: string | undefined;
  readonly env: Record<string, string>;
  readonly signal: AbortSignal;
  readonly log: {
    debug(message: string): void;
    info(message: string): void;
    warning(message: string): void;
  };
}

/** `virsh ARGS` for a session (logged at debug level), bounded by `deadline`. */
export function runVirsh(
  s: LibvirtSession,
  args: readonly string[],
  deadline: Deadline,
  uri: string | undefined = s.uri,
): Promise<VirshResult> {
  s.log.debug(`virsh ${uri === s.uri ? "" : `--connect ${uri ?? ""} `}${args.join(" ")}`);
  return virsh(args, deadline, { uri, env: s.env, signal: s.signal });
}

/**
 * Why a virsh call gave no answer, in one line, for a reason that names the step before it:
 * "cannot run virsh (ENOENT)", "no time left to ask libvirt", "virsh did not answer within 5 s
 * (libvirtd hung or unreachable at URI)", or virsh's own error message.
 */
export function virshReason(r: VirshResult, uri: string | undefined): string {
  if (r.spawnError !== undefined) return `cannot run virsh (${r.spawnError})`;
  if (!r.started) return "no time left to ask libvirt";
  if (r.timedOut)
    return `virsh did not answer within ${secs(r.ms)} (libvirtd hung or unreachable${uri === undefined ? "" : ` at ${uri}`})`;
  return virshMessage(r);
}
