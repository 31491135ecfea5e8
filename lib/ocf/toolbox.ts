/**
 * What resource agents share beyond the runner, as ocf-shellfuncs gives heartbeat agents
 * have_binary, state files, ocf_is_probe and locks: so that an agent is its declaration and its
 * actions. Everything is read at call time (nothing at module level: the agents are in the
 * executable's startup snapshot).
 *
 * - steps: a deadline for one step (the op deadline less the time kept for the agent's own reason);
 * - binaries: is a program on PATH (ocf-shellfuncs' have_binary);
 * - state files in HA_RSCTMP: read synchronously (a local tmpfs), written atomically;
 * - tools: another program run bounded (lib/program.ts) in the agent's environment;
 * - locks: a lock file holding its owner's pid, broken when that process is gone (ocf_take_lock).
 * Whether an action is a probe is the context's `isProbe`.
 */
// fs.promises is read at each use, not imported from node:fs/promises: this module is in the
// startup snapshot, and node:fs/promises loaded there adds ~350 KB that every start of every agent,
// fence agents included, deserializes (docs/build.md).
import { accessSync, constants, promises as fs, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { Deadline, sleep } from "../deadline.js";
import { type ProgramResult, runProgram, whyFailed } from "../program.js";
import type { OcfContext } from "./agent.js";
import { OcfGenericError } from "./codes.js";

/** Kept back from ctx.deadline so that the agent's own reason is printed, not the runner's cut-off. */
export const REPORT_MS = 300;

/** A deadline for one step: the op deadline less REPORT_MS, and at most `ms` when given. */
export function stepDeadline(ctx: OcfContext, ms?: number): Deadline {
  const d = Deadline.in(ctx.deadline.remainingMs() - REPORT_MS);
  return ms === undefined ? d : d.within(ms);
}

/** The PATH used when the environment has none (ocf-shellfuncs' own). */
export const DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * Is `program` an executable file: on PATH, or at the path given when it holds a `/`?
 * (ocf-shellfuncs' have_binary; `path` is the agent's PATH: ctx.childEnv().PATH.)
 */
export function haveBinary(program: string, path: string | undefined): boolean {
  const candidates = program.includes("/")
    ? [program]
    : (path ?? DEFAULT_PATH)
        .split(":")
        .filter((d) => d !== "")
        .map((d) => join(d, program));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      // not here
    }
  }
  return false;
}

/** The resource instance's file `HA_RSCTMP/<agent>-<instance>.<suffix>` (gone at reboot). */
export function stateFile(ctx: OcfContext, suffix: string): string {
  return join(ctx.rscTmp, `${ctx.agent}-${ctx.instance}.${suffix}`);
}

/**
 * A state file's text, or undefined when there is none (or it cannot be read). Synchronous:
 * HA_RSCTMP is local (/run), and a monitor's path should not wait for the thread pool.
 */
export function readStateFile(ctx: OcfContext, suffix: string): string | undefined {
  try {
    return readFileSync(stateFile(ctx, suffix), "utf8");
  } catch {
    return undefined;
  }
}

/**
 * Writes `text` to `file` so that a reader sees the old content or the new, never a part: a
 * temporary file in the same directory (mode `mode`), renamed over it. The directory is created
 * (with `dirMode`) when asked. Throws the file system's error; the temporary file is removed.
 */
export async function writeFileAtomic(
  file: string,
  text: string,
  opts: { mode?: number; dirMode?: number } = {},
): Promise<void> {
  if (opts.dirMode !== undefined)
    await fs.mkdir(dirname(file), { recursive: true, mode: opts.dirMode });
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.tmp`);
  try {
    await fs.writeFile(tmp, text, { mode: opts.mode ?? 0o600 });
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Writes a state file atomically (HA_RSCTMP created if missing, the file root's only). Throws. */
export function writeStateFile(ctx: OcfContext, suffix: string, text: string): Promise<void> {
  return writeFileAtomic(stateFile(ctx, suffix), text, { mode: 0o600, dirMode: 0o755 });
}

export async function removeStateFile(ctx: OcfContext, suffix: string): Promise<void> {
  await fs.rm(stateFile(ctx, suffix), { force: true });
}

/** A program's run as an agent's step: the result, and why it failed in one line (undefined: exit 0). */
export interface ToolRun extends ProgramResult {
  readonly why: string | undefined;
}

/**
 * Runs another program in the agent's environment (LC_ALL=C), bounded by `deadline` and by the
 * op deadline's abort, logged at debug level. Never throws.
 */
export async function runTool(
  ctx: OcfContext,
  program: string,
  args: readonly string[],
  deadline: Deadline,
  opts: { input?: string; maxOutput?: number } = {},
): Promise<ToolRun> {
  ctx.log.debug(`${program} ${args.join(" ")}`);
  const r = await runProgram(program, args, deadline, {
    env: ctx.childEnv(),
    signal: ctx.signal,
    ...opts,
  });
  return { ...r, why: whyFailed(r) };
}

/** Is the process alive (a pid another user owns counts)? */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** How often a held lock is looked at again. */
const LOCK_POLL_MS = 200;

/**
 * Runs `body` holding the lock file `file` (created holding this process's pid; removed after).
 * A lock whose owner is gone is taken over, as ocf_take_lock does; one still held when `deadline`
 * passes fails the action with the owner named. Locks are for what instances of an agent share on
 * a node (a lock in HA_RSCTMP, e.g. stateFile(ctx, "lock") or join(ctx.rscTmp, "NAME.lock")).
 */
/** Makes each withLock call's own file name unique within this process (the pid, across them). */
let lockAttempts = 0;

export async function withLock<T>(
  file: string,
  deadline: Deadline,
  body: () => Promise<T>,
): Promise<T> {
  await fs.mkdir(dirname(file), { recursive: true });
  // The pid is written first and the file then linked under the lock's name, so a lock file is
  // never seen empty: a reader of a half-written one would take it for a dead owner's.
  lockAttempts += 1;
  const mine = `${file}.${process.pid}.${lockAttempts}`;
  await fs.writeFile(mine, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
  try {
    for (;;) {
      try {
        await fs.link(mine, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      let owner: number | undefined;
      let inode: number;
      try {
        inode = (await fs.stat(file)).ino;
        owner = Number.parseInt(await fs.readFile(file, "utf8"), 10);
      } catch {
        continue; // released meanwhile
      }
      if (!Number.isInteger(owner) || owner <= 0 || !alive(owner)) {
        // Its owner died holding it (or it is not a lock file of ours): take it over, unless
        // another waiter did so first (the name then holds another file).
        const now = await fs.stat(file).catch(() => undefined);
        if (now?.ino === inode) await fs.rm(file, { force: true });
        continue;
      }
      if (deadline.remainingMs() < LOCK_POLL_MS)
        throw new OcfGenericError(`lock ${file} is held by process ${owner}`);
      await sleep(LOCK_POLL_MS, deadline);
    }
  } finally {
    await fs.rm(mine, { force: true }).catch(() => undefined);
  }
  try {
    return await body();
  } finally {
    await fs.rm(file, { force: true }).catch(() => undefined);
  }
}
