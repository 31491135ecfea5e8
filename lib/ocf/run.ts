/**
 * The resource-agent runner: environment → parameters → validation → the action, bounded by the
 * op deadline → exit code. Failures leave as one `ocf-exit-reason:` line and their OCF code, never
 * a stack trace. Everything is read here, at run time: nothing at module level touches the
 * environment, the clock or argv (the executable is built from a startup snapshot).
 */
import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { isatty } from "node:tty";
import { Deadline, secs } from "../deadline.js";
import { KvmhaError, messageOf } from "../errors.js";
import { printable } from "../log.js";
import { runProgramSync } from "../program.js";
import type { OcfAgent, OcfContext } from "./agent.js";
import { OcfError, OcfExit, OcfNotInstalled } from "./codes.js";
import { OcfLog, type OcfLogLevel } from "./log.js";
import { agentActionNames, callerSpeaksOcf11, metadataXml, usageLine } from "./metadata.js";
import { type Env, PARAM_NAME, checkParams, parseTimeMs, readParams } from "./params.js";
import { haveBinary } from "./toolbox.js";

export interface OcfIo {
  out: (text: string) => void;
  err: (text: string) => void;
  stderrIsTty: () => boolean;
  /** One syslog message. Must be bounded and must not throw. */
  syslog: (facility: string, level: OcfLogLevel, tag: string, message: string) => void;
  /** When the process started (ms since the epoch): Pacemaker's op timer runs from the fork. */
  startedAt(): number;
  readonly pid: number;
}

export const processOcfIo: OcfIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  stderrIsTty: () => isatty(2),
  syslog: (facility, level, tag, message) => {
    // Node has no unix datagram sockets, so /dev/log is reached through util-linux's logger,
    // as the shell agents do; bounded, and its failure is not the agent's.
    runProgramSync("logger", ["-t", tag, "-p", `${facility}.${level}`, "--", message], 2000);
  },
  startedAt: () => {
    // timeOrigin is the process start; should it ever come from the build's snapshot, it is far
    // in the past and the current time is used instead.
    const now = Date.now();
    const origin = performance.timeOrigin;
    return now - origin >= 0 && now - origin < 60_000 ? Math.floor(origin) : now;
  },
  get pid() {
    return process.pid;
  },
};

/** The op timeout when Pacemaker gives none and the action declares none: Pacemaker's own default. */
export const DEFAULT_TIMEOUT_MS = 20_000;

/**
 * How long before the op timeout the runner cuts an action off, so that the agent reports its
 * own reason instead of being killed by Pacemaker: 10% of the timeout, at least 0.5 s, at most
 * 5 s, and never more than half of it.
 */
export function cutoffMarginMs(timeoutMs: number): number {
  return Math.min(
    Math.max(500, Math.min(5000, Math.round(timeoutMs / 10))),
    Math.floor(timeoutMs / 2),
  );
}

const TRUE_WORDS: ReadonlySet<string> = new Set(["yes", "true", "1", "ja", "on"]);

function isTrue(text: string | undefined): boolean {
  return text !== undefined && TRUE_WORDS.has(text.trim().toLowerCase());
}

function nonEmpty(text: string | undefined): string | undefined {
  return text === undefined || text === "" ? undefined : text;
}

function intOr(text: string | undefined, fallback: number): number {
  return text !== undefined && /^\d+$/.test(text.trim())
    ? Number.parseInt(text.trim(), 10)
    : fallback;
}

export async function runOcfAgent(
  agent: OcfAgent,
  args: readonly string[],
  env: Env,
  io: OcfIo = processOcfIo,
): Promise<number> {
  const action = args[0] ?? "";
  const givenInstance = nonEmpty(env.OCF_RESOURCE_INSTANCE);
  let trace: Trace | undefined;
  const facility = nonEmpty(env.HA_LOGFACILITY);
  const log = new OcfLog(
    {
      tag:
        nonEmpty(env.HA_LOGTAG) ??
        `${agent.name}${givenInstance === undefined ? "" : `(${givenInstance})`}[${io.pid}]`,
      stderrIsTty: io.stderrIsTty(),
      facility: facility === "none" ? undefined : facility,
      logFile: nonEmpty(env.HA_LOGFILE),
      debugLog: nonEmpty(env.HA_DEBUGLOG),
      debug: [env.HA_debug, env.HA_DEBUG].some((v) => v !== undefined && v !== "" && v !== "0"),
      exitReasonPrefix: nonEmpty(env.OCF_EXIT_REASON_PREFIX) ?? "ocf-exit-reason:",
    },
    { err: io.err, syslog: io.syslog, trace: (line) => trace?.write(line) },
  );
  try {
    if (action === "meta-data") {
      io.out(metadataXml(agent, { ocf11: callerSpeaksOcf11(env) }));
      return OcfExit.SUCCESS;
    }
    if (action === "usage" || action === "help") {
      io.out(usageLine(agent));
      return OcfExit.SUCCESS;
    }
    // OCF_RESKEY_trace_ra is the resource-parameter way to turn tracing on, as in ocf-shellfuncs.
    if (isTrue(env.OCF_TRACE_RA) || isTrue(env.OCF_RESKEY_trace_ra))
      trace = openTrace(agent, action, givenInstance, env, io, log);
    const implemented: readonly string[] = agentActionNames(agent);
    if (action !== "validate-all" && !implemented.includes(action)) {
      log.exitReason(action === "" ? "no action given" : `${action}: action not supported`);
      io.err(usageLine(agent));
      return OcfExit.ERR_UNIMPLEMENTED;
    }
    // Pacemaker always names the instance; without OCF_RA_VERSION_MAJOR the agent is run by hand.
    if (givenInstance === undefined && nonEmpty(env.OCF_RA_VERSION_MAJOR) !== undefined) {
      log.exitReason("OCF_RESOURCE_INSTANCE is not set: need to know the resource instance name");
      return OcfExit.ERR_ARGS;
    }
    const { ctx, controller } = makeContext(
      agent,
      action,
      givenInstance ?? "default",
      env,
      io,
      log,
    );
    trace?.write(
      `${agent.name} ${action} instance=${ctx.instance} timeout=${ctx.timeoutMs}ms interval=${ctx.intervalMs}ms probe=${ctx.isProbe} check_level=${ctx.checkLevel}`,
    );
    trace?.write(`parameters: ${ctx.params.describe()}`);
    checkParams(agent.parameters, ctx.params);
    if (log.debugEnabled || trace !== undefined) log.debug(`${action}: ${ctx.params.describe()}`);
    const code = await bounded(ctx, controller, () => perform(agent, ctx));
    trace?.write(`exit ${code}`);
    return code;
  } catch (err) {
    const code = report(err, log);
    trace?.write(`exit ${code}`);
    return code;
  } finally {
    trace?.close();
  }
}

function report(err: unknown, log: OcfLog): number {
  if (err instanceof OcfError) {
    log.exitReason(err.message);
    return err.exitCode;
  }
  // Another layer's typed error (a protocol client's): its message is printable, its exit code
  // belongs to another API, so it is a generic OCF failure.
  if (err instanceof KvmhaError) {
    log.exitReason(err.message);
    return OcfExit.ERR_GENERIC;
  }
  log.exitReason(`internal error: ${messageOf(err)}`);
  return OcfExit.ERR_GENERIC;
}

function makeContext(
  agent: OcfAgent,
  action: string,
  instance: string,
  env: Env,
  io: OcfIo,
  log: OcfLog,
): { ctx: OcfContext; controller: AbortController } {
  for (const p of agent.parameters) {
    if (!PARAM_NAME.test(p.name))
      throw new Error(`parameter name '${p.name}' cannot be an environment variable`);
  }
  const params = readParams(agent.parameters, env);

  const declared =
    agent.actions[action as keyof OcfAgent["actions"]]?.timeout ??
    (action === "validate-all" ? (agent.validateTimeout ?? "20s") : undefined);
  const fromPacemaker = intOr(env.OCF_RESKEY_CRM_meta_timeout, 0);
  const timeoutMs =
    fromPacemaker > 0
      ? fromPacemaker
      : ((declared === undefined ? undefined : parseTimeMs(declared)) ?? DEFAULT_TIMEOUT_MS);
  if (env.OCF_RESKEY_CRM_meta_timeout !== undefined && fromPacemaker <= 0) {
    log.warning(
      `OCF_RESKEY_CRM_meta_timeout '${env.OCF_RESKEY_CRM_meta_timeout}' is not a positive number of milliseconds; using ${timeoutMs} ms`,
    );
  }
  const intervalMs = intOr(env.OCF_RESKEY_CRM_meta_interval, 0);
  const checkLevel = intOr(nonEmpty(env.OCF_RESKEY_OCF_CHECK_LEVEL) ?? env.OCF_CHECK_LEVEL, 0);
  const deadline = Deadline.in(timeoutMs - cutoffMarginMs(timeoutMs), io.startedAt());
  const controller = new AbortController();
  let childEnv: Record<string, string> | undefined;
  const ctx: OcfContext = {
    agent: agent.name,
    action,
    instance,
    params,
    log,
    timeoutMs,
    intervalMs,
    isProbe: action === "monitor" && intervalMs === 0,
    checkLevel,
    deadline,
    signal: controller.signal,
    rscTmp: nonEmpty(env.HA_RSCTMP) ?? "/run/resource-agents",
    varLib: nonEmpty(env.HA_VARLIB) ?? "/var/lib/heartbeat",
    ocfRoot: nonEmpty(env.OCF_ROOT) ?? "/usr/lib/ocf",
    meta: (name) => env[`OCF_RESKEY_CRM_meta_${name}`],
    childEnv: () => {
      // A fresh copy each time: a caller may add to it.
      childEnv ??= Object.fromEntries(
        Object.entries(env).filter(
          (e): e is [string, string] =>
            e[1] !== undefined && e[0] !== "LANG" && e[0] !== "LANGUAGE",
        ),
      );
      return { ...childEnv, LC_ALL: "C" };
    },
  };
  return { ctx, controller };
}

/** Runs `body`, or gives up at the context's deadline with ERR_GENERIC and a reason. */
async function bounded(
  ctx: OcfContext,
  controller: AbortController,
  body: () => Promise<number>,
): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), ctx.deadline.remainingMs());
  });
  try {
    const work = body();
    // Once cut off, the abandoned action may still fail; that must not become an unhandled rejection.
    work.catch(() => undefined);
    const result = await Promise.race([work, expired]);
    if (result !== "expired") return result;
    controller.abort();
    ctx.log.exitReason(
      `${ctx.action} did not finish in time: cut off ${secs(cutoffMarginMs(ctx.timeoutMs))} before its op timeout of ${secs(ctx.timeoutMs)}`,
    );
    return OcfExit.ERR_GENERIC;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Binaries, the agent's validation, then the action. A failed check is mapped as ocf-rarun maps
 * an invalid environment: a stop succeeds (nothing can run here), a probe finds the resource not
 * running, a recurring monitor fails generically, anything else fails with the check's own code.
 */
async function perform(agent: OcfAgent, ctx: OcfContext): Promise<number> {
  try {
    for (const binary of agent.requiredBinaries ?? []) {
      if (!haveBinary(binary, ctx.childEnv().PATH))
        throw new OcfNotInstalled(`${binary}: required binary not installed`);
    }
    await agent.validate?.(ctx);
  } catch (err) {
    if (!(err instanceof OcfError)) throw err;
    if (ctx.action === "stop") {
      ctx.log.info(`${err.message}; resource considered stopped`);
      return OcfExit.SUCCESS;
    }
    if (ctx.isProbe || ctx.action === "status") {
      ctx.log.info(`${err.message}; resource considered stopped`);
      return OcfExit.NOT_RUNNING;
    }
    if (ctx.action === "monitor") {
      ctx.log.exitReason(err.message);
      return OcfExit.ERR_GENERIC;
    }
    throw err;
  }
  if (ctx.action === "validate-all") return OcfExit.SUCCESS;
  const spec = agent.actions[ctx.action as keyof OcfAgent["actions"]];
  if (spec === undefined) throw new Error(`action ${ctx.action} vanished`);
  ctx.log.trace(`${ctx.action}: running`);
  const result = await spec.run(ctx);
  return result ?? OcfExit.SUCCESS;
}

interface Trace {
  write(line: string): void;
  close(): void;
}

function clock(d: Date): string {
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/**
 * OCF_TRACE_RA: ocf-shellfuncs traces the shell (set -x); this agent traces its steps and every
 * log line, debug included, to the same place: OCF_TRACE_FILE when it is a descriptor 3-9 or an
 * absolute path, else (not on a terminal) $OCF_RESKEY_trace_dir or $HA_VARLIB/trace_ra, under
 * `<agent>/<instance>.<action>.<YYYY-MM-DD.HH:MM:SS>`. The environment it starts with is dumped,
 * secrets hidden. A trace that cannot be opened is a warning, never a failure.
 */
function openTrace(
  agent: OcfAgent,
  action: string,
  instance: string | undefined,
  env: Env,
  io: OcfIo,
  log: OcfLog,
): Trace | undefined {
  const target = nonEmpty(env.OCF_TRACE_FILE);
  let fd: number | undefined;
  let owned = false;
  try {
    if (target !== undefined && /^[3-9]$/.test(target)) {
      fd = Number.parseInt(target, 10);
    } else {
      let path: string | undefined;
      if (target !== undefined && target.startsWith("/")) path = target;
      else {
        if (target !== undefined)
          log.warning(
            "OCF_TRACE_FILE must be a descriptor (3-9) or an absolute path; using the default place",
          );
        if (io.stderrIsTty() || instance === undefined || action === "") return undefined;
        const now = new Date(io.startedAt());
        const stamp = `${now.toISOString().slice(0, 10)}.${clock(now).slice(0, 8)}`;
        const dir =
          nonEmpty(env.OCF_RESKEY_trace_dir) ??
          join(nonEmpty(env.HA_VARLIB) ?? "/var/lib/heartbeat", "trace_ra");
        path = join(dir, agent.name, `${instance}.${action}.${stamp}`);
      }
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      fd = openSync(path, "a", 0o600);
      owned = true;
    }
  } catch (err) {
    log.warning(`cannot open the trace file, tracing is off: ${messageOf(err)}`);
    return undefined;
  }
  const traceFd = fd;
  let open = true;
  const trace: Trace = {
    write: (line) => {
      if (!open) return;
      try {
        writeSync(traceFd, `+ ${clock(new Date())}: ${printable(line)}\n`);
      } catch {
        open = false;
      }
    },
    close: () => {
      if (owned && open) closeSync(traceFd);
      open = false;
    },
  };
  const secretKeys = new Set(
    agent.parameters.filter((p) => p.secret === true).map((p) => `OCF_RESKEY_${p.name}`),
  );
  const names = Object.keys(env)
    .filter((k) => /^(OCF_|HA_|PCMK_)/.test(k))
    .sort();
  for (const k of names) trace.write(`env ${k}=${secretKeys.has(k) ? "[hidden]" : (env[k] ?? "")}`);
  return trace;
}
