/**
 * Running `virsh`, always bounded: every call gets a deadline (the OCF op deadline or an earlier
 * one) and is killed (SIGKILL) when it passes, so a hung libvirtd becomes a clear reason instead of
 * an op timeout. Uses node:child_process's execFile: no shell, arguments passed as they are.
 */
import { execFile } from "node:child_process";
import type { Deadline } from "../deadline.js";

export interface VirshOptions {
  /** Connection URI (`--connect`); unset: virsh's own default (LIBVIRT_DEFAULT_URI, then its config). */
  readonly uri?: string | undefined;
  /** The program; default `virsh` on PATH. */
  readonly program?: string;
  /** Environment for virsh (the OCF context's childEnv: LC_ALL=C). */
  readonly env?: Record<string, string>;
  /** Aborts the call (the OCF context's signal). */
  readonly signal?: AbortSignal;
}

export interface VirshResult {
  readonly args: readonly string[];
  /** Exit code; undefined when virsh was killed or could not run. */
  readonly code: number | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed at its deadline (or aborted). */
  readonly timedOut: boolean;
  /** virsh could not be started at all (ENOENT, EACCES): the error code. */
  readonly spawnError: string | undefined;
  readonly ms: number;
}

/** The least time a call is given: below this it is not even started. */
export const MIN_CALL_MS = 200;

/** The first line of virsh's error output, without the `error: ` prefixes: for reasons and logs. */
export function virshMessage(r: VirshResult): string {
  const lines = `${r.stderr}\n${r.stdout}`
    .split("\n")
    .map((l) => l.trim().replace(/^error:\s*/i, ""))
    .filter((l) => l !== "");
  return lines.join("; ").slice(0, 400);
}

/** Runs `virsh [--connect URI] --quiet ARGS` until it exits or `deadline` passes. Never throws. */
export function virsh(
  args: readonly string[],
  deadline: Deadline,
  opts: VirshOptions = {},
): Promise<VirshResult> {
  const full = [
    ...(opts.uri !== undefined && opts.uri !== "" ? ["--connect", opts.uri] : []),
    "--quiet",
    ...args,
  ];
  const started = Date.now();
  // Whole milliseconds: execFile refuses a fractional timeout (a deadline from performance.timeOrigin is fractional).
  const timeout = Math.floor(deadline.remainingMs());
  if (timeout < MIN_CALL_MS) {
    return Promise.resolve({
      args: full,
      code: undefined,
      stdout: "",
      stderr: "",
      timedOut: true,
      spawnError: undefined,
      ms: 0,
    });
  }
  return new Promise((resolve) => {
    execFile(
      opts.program ?? "virsh",
      full,
      {
        env: opts.env,
        timeout,
        killSignal: "SIGKILL",
        maxBuffer: 16 * 1024 * 1024,
        encoding: "utf8",
        signal: opts.signal,
        windowsHide: true,
      },
      (err, stdout, stderr) => {
        const e = err as
          (NodeJS.ErrnoException & { killed?: boolean; code?: unknown; signal?: unknown }) | null;
        const spawnError =
          e !== null && typeof e.code === "string" && e.code !== "ABORT_ERR" ? e.code : undefined;
        const timedOut =
          e !== null &&
          (e.killed === true ||
            e.name === "AbortError" ||
            e.code === "ABORT_ERR" ||
            (e.signal !== null && e.signal !== undefined));
        resolve({
          args: full,
          code: e === null ? 0 : typeof e.code === "number" ? e.code : undefined,
          stdout: String(stdout ?? ""),
          stderr: String(stderr ?? ""),
          timedOut: spawnError === undefined && timedOut,
          spawnError,
          ms: Date.now() - started,
        });
      },
    );
  });
}
