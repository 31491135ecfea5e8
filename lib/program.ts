/**
 * Running another program, always bounded: the one runner every caller uses (virsh, crm_resource,
 * qemu-img, monitor scripts, kvmha check's agents and cibadmin, the OCF log's logger, the test
 * lab's clients). A run gets a deadline and is killed (SIGKILL unless told otherwise) when it
 * passes; an abort through the caller's AbortSignal is the same time-out (the op deadline that the
 * signal carries has passed); its output is captured up to a limit, and a program that prints more
 * is killed rather than read in part. It never throws, and it never waits past the deadline for a
 * program's leftover children that still hold its output open. No shell: arguments go as they are.
 */
import { type ChildProcess, type SpawnSyncReturns, spawn, spawnSync } from "node:child_process";
import { type Deadline, secs } from "./deadline.js";

export interface ProgramOptions {
  /** Environment for the program (default: this process's). */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly cwd?: string;
  /** Written to its stdin, which is then closed; without it stdin is /dev/null. */
  readonly input?: string;
  /** Aborting it ends the run as its deadline would (the OCF context's signal). */
  readonly signal?: AbortSignal;
  /** Default SIGKILL: a hung program does not get to handle a gentler one. */
  readonly killSignal?: NodeJS.Signals;
  /** Bytes kept of stdout and of stderr each; more is an overflow (default 16 MiB). */
  readonly maxOutput?: number;
  /** Below this much time left it is not started at all (default MIN_RUN_MS). */
  readonly minMs?: number;
  /**
   * How long its output may stay open after it exited, for a child it left behind to finish
   * writing (default 100 ms; never past the deadline).
   */
  readonly drainMs?: number;
}

export interface ProgramResult {
  /** The exit code; undefined when it did not exit by itself (killed, not started, overflow). */
  readonly code: number | undefined;
  /** The signal that ended it, when one did (ours at the deadline included). */
  readonly signal: NodeJS.Signals | undefined;
  readonly stdout: string;
  readonly stderr: string;
  /** Killed at its deadline or aborted, or not started for lack of time (then `started` is false). */
  readonly timedOut: boolean;
  /** False when there was too little time left to start it, or it could not be started. */
  readonly started: boolean;
  /** It could not be started (ENOENT, EACCES, …): the error code. */
  readonly spawnError: string | undefined;
  /** It printed more than maxOutput and was killed for it. */
  readonly overflow: boolean;
  readonly ms: number;
}

/** The least time a run is given: below this it is not even started. */
export const MIN_RUN_MS = 200;
const DEFAULT_MAX_OUTPUT = 16 * 1024 * 1024;
/** How long its output may stay open after it exited (a leftover child of a script holds it). */
const DRAIN_MS = 100;
/** After the deadline's kill, how long before the run ends anyway. */
const KILLED_MS = 100;

function notRun(fields: Partial<ProgramResult>): ProgramResult {
  return {
    code: undefined,
    signal: undefined,
    stdout: "",
    stderr: "",
    timedOut: false,
    started: false,
    spawnError: undefined,
    overflow: false,
    ms: 0,
    ...fields,
  };
}

/** Runs `program args` until it exits or `deadline` passes (then it is killed). Never throws. */
export function runProgram(
  program: string,
  args: readonly string[],
  deadline: Deadline,
  opts: ProgramOptions = {},
): Promise<ProgramResult> {
  const timeout = deadline.remainingMs();
  if (timeout < (opts.minMs ?? MIN_RUN_MS) || opts.signal?.aborted === true)
    return Promise.resolve(notRun({ timedOut: true }));
  const started = Date.now();
  const max = opts.maxOutput ?? DEFAULT_MAX_OUTPUT;
  return new Promise((resolve) => {
    let child: ChildProcess;
    try {
      child = spawn(program, args, {
        env: opts.env,
        cwd: opts.cwd,
        stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        windowsHide: true,
      });
    } catch (err) {
      // spawn throws (rather than emitting) for arguments it refuses, e.g. a NUL byte.
      resolve(notRun({ spawnError: (err as NodeJS.ErrnoException).code ?? "EINVAL" }));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const size = { out: 0, err: 0 };
    let timedOut = false;
    let overflow = false;
    let spawnError: string | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let settled = false;
    let drain: NodeJS.Timeout | undefined;

    const kill = (): void => {
      try {
        child.kill(opts.killSignal ?? "SIGKILL");
      } catch {
        // already gone
      }
    };
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      opts.signal?.removeEventListener("abort", onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      const ended = exit?.signal ?? undefined;
      resolve({
        code: exit?.code ?? undefined,
        signal: ended,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        timedOut: timedOut && spawnError === undefined,
        started: spawnError === undefined,
        spawnError,
        overflow,
        ms: Date.now() - started,
      });
    };
    const collect = (into: Buffer[], which: "out" | "err") => (chunk: Buffer) => {
      size[which] += chunk.length;
      if (size[which] <= max) into.push(chunk);
      else if (!overflow) {
        overflow = true;
        kill();
      }
    };
    const onAbort = (): void => {
      timedOut = true;
      kill();
    };
    // After the deadline the program is killed; should even that not end the run (a child left
    // holding the output, a process stuck in the kernel), the run ends anyway a moment later.
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
      clearTimeout(drain);
      drain = setTimeout(finish, KILLED_MS);
    }, timeout);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout?.on("data", collect(out, "out"));
    child.stderr?.on("data", collect(err, "err"));
    child.once("error", (e: NodeJS.ErrnoException) => {
      // Only a failed start ends the run here; a failed kill of a dead child is no news.
      if (child.pid === undefined) {
        spawnError = e.code ?? "ESPAWN";
        finish();
      }
    });
    child.once("exit", (code, signal) => {
      exit = { code, signal };
      drain ??= setTimeout(finish, opts.drainMs ?? DRAIN_MS);
    });
    child.once("close", finish);
    if (opts.input !== undefined && child.stdin !== null) {
      // A program that exits without reading its input: its exit says why, not EPIPE.
      child.stdin.on("error", () => undefined);
      child.stdin.end(opts.input);
    }
  });
}

/** The same run, synchronously (for a log line that must be written before the process exits). */
export function runProgramSync(
  program: string,
  args: readonly string[],
  timeoutMs: number,
  opts: Omit<ProgramOptions, "signal" | "minMs"> = {},
): ProgramResult {
  const started = Date.now();
  const r: SpawnSyncReturns<string> = spawnSync(program, args, {
    env: opts.env,
    cwd: opts.cwd,
    input: opts.input,
    stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    timeout: Math.max(1, Math.floor(timeoutMs)),
    killSignal: opts.killSignal ?? "SIGKILL",
    maxBuffer: opts.maxOutput ?? DEFAULT_MAX_OUTPUT,
    encoding: "utf8",
  });
  const e: unknown = r.error;
  const code = e instanceof Error && "code" in e && typeof e.code === "string" ? e.code : undefined;
  const spawnError =
    code !== undefined && code !== "ETIMEDOUT" && code !== "ENOBUFS" ? code : undefined;
  return {
    code: r.status ?? undefined,
    signal: r.signal ?? undefined,
    stdout: r.stdout ?? "",
    stderr: r.stderr ?? "",
    timedOut: code === "ETIMEDOUT",
    started: spawnError === undefined,
    spawnError,
    overflow: code === "ENOBUFS",
    ms: Date.now() - started,
  };
}

/** Output squeezed into one line of at most `max` characters (for a reason, never for parsing). */
export function oneLineOutput(text: string, max = 300): string {
  return text.trim().replace(/\s+/g, " ").slice(0, max);
}

/**
 * Why a run did not succeed, in the words every caller uses: "no time left", "did not finish
 * within 5 s", "cannot run (ENOENT)", "printed more than 16 MiB", "killed by SIGSEGV", or
 * "exit 3: <its output>". undefined when it exited 0.
 */
export function whyFailed(r: ProgramResult): string | undefined {
  if (r.code === 0) return undefined;
  if (r.spawnError !== undefined) return `cannot run (${r.spawnError})`;
  if (!r.started) return "no time left";
  if (r.timedOut) return `did not finish within ${secs(r.ms)}`;
  if (r.overflow) return "printed more output than it may";
  if (r.code === undefined) return `killed by ${r.signal ?? "a signal"}`;
  const text = oneLineOutput(`${r.stderr} ${r.stdout}`);
  return `exit ${r.code}${text === "" ? "" : `: ${text}`}`;
}
