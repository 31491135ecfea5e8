/**
 * The fence-agent runner: input → options → action → the verify-after-act loop → exit code.
 * Success is printed only for a power state read back from the device; a state that is neither
 * on nor off is a failure, never "off".
 */
import { readFileSync } from "node:fs";
import { isatty } from "node:tty";
import { VERSION } from "../cli/version.js";
import { Deadline, sleep } from "../deadline.js";
import { KvmhaError, UsageError, messageOf } from "../errors.js";
import { Logger, bounded, printable } from "../log.js";
import { type SyslogWriter, loggerSyslog } from "../syslog.js";
import { agentAs } from "./alias.js";
import type { FenceAgent, FenceContext, FenceDevice, PowerState, PowerTarget } from "./agent.js";
import { FenceExit, FenceFailure } from "./errors.js";
import { manPage, metadataXml, usageText } from "./metadata.js";
import { groupOptions } from "./groups.js";
import { type OptionSpec, commonOptions, standard } from "./options.js";
import { OptionIndex, type RawInput, parseArgv, parseStdin } from "./parse.js";
import { runPasswordScript } from "./secrets.js";
import { type FenceOptions, resolveOptions } from "./values.js";

export interface AgentIo {
  readStdin: () => Promise<string>;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Where syslog lines go (lib/syslog.ts for a real run); none: no syslog. */
  syslog?: SyslogWriter;
}

export const processIo: AgentIo = {
  readStdin: async () => {
    if (isatty(0))
      process.stderr.write(
        "Reading options as key=value lines from stdin (end with Ctrl-D); -h for help\n",
      );
    try {
      // A plain read of fd 0: Pacemaker writes the options and closes the pipe. Creating
      // process.stdin would load the stream machinery, which costs more than the whole read.
      return readFileSync(0, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EAGAIN") throw err;
      // A non-blocking stdin (inherited from a parent that set O_NONBLOCK): read it as a stream.
      const chunks: Buffer[] = [];
      for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks).toString("utf8");
    }
  },
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  syslog: (tag, level, message) => {
    // Created at the first line, not at module level (the module is in the startup snapshot).
    syslogWriter ??= loggerSyslog(process.pid);
    syslogWriter(tag, level, message);
  },
};
let syslogWriter: SyslogWriter | undefined;

const POWER_ACTIONS = ["on", "off", "reboot", "status"] as const;

/** The options an agent takes, in declaration order, each once. */
export function agentOptions<S>(agent: FenceAgent<S>): OptionSpec[] {
  const extra: OptionSpec[] =
    agent.plugs === "many" ? [standard.plug, standard.plug_separator, standard.separator] : [];
  const byName = new Map<string, OptionSpec>();
  for (const spec of [...agent.options, ...groupOptions(agent.groups), ...extra, ...commonOptions])
    if (!byName.has(spec.name)) byName.set(spec.name, spec);
  return [...byName.values()];
}

export function agentActions<S>(agent: FenceAgent<S>): string[] {
  const actions: string[] = [...POWER_ACTIONS];
  if (agent.plugs === "many") actions.push("list", "list-status");
  actions.push("monitor", "metadata", "manpage", "validate-all", ...(agent.extraActions ?? []));
  return actions;
}

/** Runs `declared` under the name it was invoked by (its own, or one of its aliases). */
export async function runFenceAgent<S>(
  declared: FenceAgent<S>,
  args: readonly string[],
  io: AgentIo = processIo,
  invokedAs?: string,
): Promise<number> {
  const started = Date.now();
  const log = new Logger({ write: io.err });
  /** What the agent is doing, for the journal's error line: which step failed. */
  let step = "reading its options";
  try {
    const agent = agentAs(declared, invokedAs);
    const syslog = io.syslog;
    if (syslog !== undefined)
      log.configure({ syslog: (level, message) => syslog(agent.docs.name, level, message) });
    const specs = agentOptions(agent);
    const index = new OptionIndex(specs);
    const input: RawInput =
      args.length > 0 ? parseArgv(args, index) : parseStdin(await io.readStdin(), index);
    let options = resolveOptions(index, input);
    const verbosity = options.integer("verbose_level") ?? 0;
    log.configure({
      quiet: options.flag("quiet"),
      verbosity,
      debugFile: options.string("debug_file"),
    });
    for (const warning of input.warnings) log.warning(warning);

    const actions = agentActions(agent);
    const action = normaliseAction(options.string("action") ?? "reboot");
    if (options.flag("help")) {
      io.out(usageText(agent.docs, specs, actions, "reboot"));
      return FenceExit.success;
    }
    if (options.flag("version")) {
      io.out(`${VERSION}\n`);
      return FenceExit.success;
    }
    if (action === "metadata") {
      io.out(metadataXml(agent.docs, specs, actions));
      return FenceExit.success;
    }
    if (action === "manpage") {
      io.out(manPage(agent.docs, specs, actions, VERSION));
      return FenceExit.success;
    }
    if (!actions.includes(action))
      throw new UsageError(
        `Failed: Unrecognised action '${bounded(printable(action), 40)}' (one of: ${actions.join(", ")})`,
      );

    for (const spec of specs) {
      if (spec.ignored !== undefined && options.isGiven(spec.name))
        log.warning(`${spec.name} is ignored: ${spec.ignored}`);
    }
    checkRequiredOptions(agent, options, action);
    agent.validate?.(options, log);
    if (action === "validate-all") return FenceExit.success;
    const device = deviceName(agent, options);
    log.about(`${action} of ${device}`);
    if (log.debugging) log.debug(`${agent.docs.name} ${action}: ${options.describe()}`);
    if (options.isGiven("disable_timeout") || process.env.PCMK_service === "pacemaker-fenced") {
      log.debug(
        "timeouts stay bounded under Pacemaker, so that a dead device fails fast (disable_timeout has no effect)",
      );
    }

    // As in fence-agents, a script wins over the value it stands for.
    for (const spec of specs) {
      const script = spec.scriptFor === undefined ? undefined : options.string(spec.name);
      if (spec.scriptFor === undefined || script === undefined) continue;
      step = `running ${spec.name}`;
      log.step(`Running ${spec.name} (its output is never logged)`);
      const secret = await runPasswordScript(
        spec.name,
        script,
        Math.max(5000, options.seconds("shell_timeout") * 1000),
      );
      options = options.with(spec.scriptFor, secret);
    }

    if (action === "off" || action === "reboot") {
      step = "waiting for delay";
      await runDelay(options, started, log);
    }

    const ctx: FenceContext = {
      options,
      log,
      loginDeadline: Deadline.inSeconds(options.seconds("login_timeout")),
      commandTimeoutMs:
        agent.commandTimeoutMs?.(options) ?? options.seconds("shell_timeout") * 1000,
      device,
    };
    step = "connecting and logging in";
    log.step(`Connecting to ${device} (login_timeout ${options.seconds("login_timeout")} s)`);
    const session = await agent.device.connect(ctx);
    log.step(`Logged in to ${device}`);
    try {
      return await perform(agent, session, action, ctx, io, (now) => (step = now));
    } finally {
      await agent.device.disconnect(session, ctx);
      log.debug(`Disconnected from ${device}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      log.error(err.message);
      return err.exitCode;
    }
    if (err instanceof KvmhaError) {
      log.failure(err.message, step);
      return err.exitCode;
    }
    log.failure(`internal error: ${messageOf(err)}`, step);
    return FenceExit.failure;
  }
}

/** The device as messages name it: its address (and port), and the plugs the action is about. */
function deviceName<S>(agent: FenceAgent<S>, options: FenceOptions): string {
  const host = options.host();
  const port = options.declares("ipport") ? options.integer("ipport") : undefined;
  const address = host.includes(":") && port !== undefined ? `[${host}]` : host;
  const where = port === undefined ? address : `${address}:${port}`;
  const plugs = agent.plugs === "many" ? plugList(options) : [];
  return plugs.length === 0
    ? printable(where)
    : printable(`${where} ${plugs.length === 1 ? "plug" : "plugs"} ${plugs.join(",")}`);
}

function normaliseAction(action: string): string {
  const lower = action.trim().toLowerCase();
  // OCF spelling, and fence-agents' fabric names.
  if (lower === "meta-data") return "metadata";
  if (lower === "enable") return "on";
  if (lower === "disable") return "off";
  return lower;
}

/** The options every action that talks to the device needs, with fence-agents' messages. */
function checkRequiredOptions<S>(
  agent: FenceAgent<S>,
  options: FenceOptions,
  action: string,
): void {
  for (const name of agent.required) {
    // The address may be the plug (port_as_ip), as fence-agents takes it.
    const value = name === "ip" ? options.host() : (options.string(name) ?? "");
    if (value === "") {
      throw new UsageError(
        name === "ip"
          ? "Failed: You have to enter fence address"
          : `Failed: You have to set ${name}`,
      );
    }
  }
  if (agent.needsPassword && !options.has("password") && !options.has("password_script")) {
    throw new UsageError("Failed: You have to enter password or password script");
  }
  if (
    agent.plugs === "many" &&
    (POWER_ACTIONS as readonly string[]).includes(action) &&
    !options.string("plug")
  ) {
    throw new UsageError("Failed: You have to enter plug number or machine identification");
  }
}

/** `delay` counts from the agent's start, as fence-agents do; only off and reboot wait. */
async function runDelay(options: FenceOptions, started: number, log: Logger): Promise<void> {
  const delayMs = options.seconds("delay") * 1000;
  const left = started + delayMs - Date.now();
  if (left > 0) {
    log.info(
      `Delay ${Math.round(left / 100) / 10} second(s) before logging in to the fence device`,
    );
    await sleep(left);
  }
}

/** The plugs given (`plug=3,4` with the plug separator), each once, in order. */
export function plugList(options: FenceOptions): string[] {
  const sep = options.string("plug_separator") ?? ",";
  const list = (options.string("plug") ?? "")
    .split(sep)
    .map((p) => p.trim())
    .filter((p) => p !== "");
  return [...new Set(list)];
}

function plugsOf(options: FenceOptions, agent: FenceAgent<unknown>): (string | undefined)[] {
  return agent.plugs === "none" ? [undefined] : plugList(options);
}

function plugName(plug: string | undefined): string {
  return plug === undefined ? "" : ` of plug ${plug}`;
}

async function perform<S>(
  agent: FenceAgent<S>,
  session: S,
  action: string,
  ctx: FenceContext,
  io: AgentIo,
  at: (step: string) => void,
): Promise<number> {
  const device = agent.device;
  const { options, log } = ctx;
  const plugs = plugsOf(options, agent);

  if (
    action === "list" ||
    action === "list-status" ||
    (action === "monitor" && agent.plugs === "many")
  ) {
    if (device.listPlugs === undefined) throw new FenceFailure("this device cannot list its plugs");
    const sep = options.string("separator") ?? ",";
    at("listing the plugs");
    const list = await device.listPlugs(session, ctx);
    log.step(`Listed ${list.length} plug(s)`);
    if (action === "monitor") return FenceExit.success;
    for (const entry of list) {
      const fields = [entry.plug, entry.alias ?? ""];
      if (action === "list-status") fields.push((entry.state ?? "unknown").toUpperCase());
      io.out(`${fields.join(sep)}\n`);
    }
    return FenceExit.success;
  }
  if (action === "diag") {
    if (device.diag === undefined)
      throw new FenceFailure("this device has no diagnostic interrupt");
    at("sending a diagnostic interrupt");
    log.step("Sending a diagnostic interrupt (NMI)");
    await device.diag(session, ctx);
    // fence-agents' line for diag (fence_ipmilan runs it as a reboot): scripts written for them
    // look for it; Pacemaker never sends diag and reads only exit codes (docs/fence_ipmi.md).
    log.step("Diagnostic interrupt sent");
    io.out("Success: Rebooted\n");
    return FenceExit.success;
  }

  at("reading the power status");
  const states = await readStates(device, session, plugs, ctx);
  const unknown = states.findIndex((s) => s === "unknown");
  if (unknown !== -1)
    throw new FenceFailure(
      `Failed: the power state${plugName(plugs[unknown])} is neither on nor off`,
    );
  const overall: PowerTarget = states.every((s) => s === "off") ? "off" : "on";

  switch (action) {
    case "monitor":
      return FenceExit.success;
    case "status":
      io.out(`Status: ${overall.toUpperCase()}\n`);
      return overall === "off" ? FenceExit.statusOff : FenceExit.success;
    case "on":
    case "off": {
      const target: PowerTarget = action;
      if (states.every((s) => s === target)) {
        io.out(`Success: Already ${target.toUpperCase()}\n`);
        return FenceExit.success;
      }
      // retry_on counts attempts, as in fence-agents (retry_on=1: one attempt).
      const attempts = target === "on" ? Math.max(1, options.integer("retry_on") ?? 1) : 1;
      await switchAndVerify(device, session, plugs, states, target, attempts, ctx, at);
      io.out(`Success: Powered ${target.toUpperCase()}\n`);
      return FenceExit.success;
    }
    case "reboot":
      return reboot(agent, session, plugs, states, ctx, io, at);
    default:
      throw new UsageError(`Failed: Unrecognised action '${action}'`);
  }
}

async function reboot<S>(
  agent: FenceAgent<S>,
  session: S,
  plugs: (string | undefined)[],
  states: PowerState[],
  ctx: FenceContext,
  io: AgentIo,
  at: (step: string) => void,
): Promise<number> {
  const device = agent.device;
  const { log, options } = ctx;
  if (
    options.declares("method") &&
    options.string("method") === "cycle" &&
    device.powerCycle !== undefined
  ) {
    log.warning(
      "method=cycle: the device's own power cycle is not verified; the target may never have been off. Use method=onoff to prove it",
    );
    at("sending power cycle");
    for (const plug of plugs) {
      log.step(`Sending power CYCLE${plugName(plug)}`);
      await device.powerCycle(session, plug, ctx);
    }
    io.out("Success: Rebooted\n");
    return FenceExit.success;
  }
  if (!states.every((s) => s === "off"))
    await switchAndVerify(device, session, plugs, states, "off", 1, ctx, at);
  // Fencing is done once off is read back; power on is a courtesy that may fail.
  try {
    const attempts = Math.max(1, options.integer("retry_on") ?? 1);
    await switchAndVerify(
      device,
      session,
      plugs,
      plugs.map(() => "off"),
      "on",
      attempts,
      ctx,
      at,
    );
  } catch (err) {
    log.error(
      `Power ON after the reboot's verified off failed (the target was off, so fencing succeeded): ${messageOf(err)}`,
    );
  }
  io.out("Success: Rebooted\n");
  return FenceExit.success;
}

async function readStates<S>(
  device: FenceDevice<S>,
  session: S,
  plugs: (string | undefined)[],
  ctx: FenceContext,
  quiet?: boolean,
): Promise<PowerState[]> {
  const states: PowerState[] = [];
  for (const plug of plugs) {
    const state = await device.getPowerState(session, plug, ctx);
    if (quiet !== true) ctx.log.step(`Status${plugName(plug)}: ${state.toUpperCase()}`);
    states.push(state);
  }
  return states;
}

/**
 * Switches every plug not yet at `target`, then reads the states back until all match or
 * power_timeout passes. Reads that fail are retried until the deadline; the last reason is kept.
 */
async function switchAndVerify<S>(
  device: FenceDevice<S>,
  session: S,
  plugs: (string | undefined)[],
  states: readonly PowerState[],
  target: PowerTarget,
  attempts: number,
  ctx: FenceContext,
  at: (step: string) => void,
): Promise<void> {
  const { log, options } = ctx;
  const powerWaitMs = options.seconds("power_wait") * 1000;
  const maxPauseMs = Math.max(50, options.seconds("stonith_status_sleep") * 1000);
  let lastProblem = "";
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    for (const [i, plug] of plugs.entries()) {
      if (attempt === 1 && states[i] === target) continue;
      at(`sending power ${target.toUpperCase()}${plugName(plug)}`);
      log.step(`Sending power ${target.toUpperCase()}${plugName(plug)}`);
      await device.setPowerState(session, plug, target, ctx);
      log.step(`Power ${target.toUpperCase()}${plugName(plug)} accepted by the device`);
    }
    if (powerWaitMs > 0) await sleep(powerWaitMs);
    at(`reading back power ${target.toUpperCase()}`);
    const deadline = Deadline.inSeconds(options.seconds("power_timeout"));
    const since = Date.now();
    let pauseMs = 50;
    for (;;) {
      try {
        const now = await readStates(device, session, plugs, ctx, true);
        log.debug(
          `Read back: ${now.map((s, i) => `${s.toUpperCase()}${plugName(plugs[i])}`).join(", ")}`,
        );
        const pending = plugs.filter((_, i) => now[i] !== target);
        if (pending.length === 0) {
          log.step(
            `Read back ${target.toUpperCase()}${plugs.length > 1 ? " on every plug" : ""} after ${((Date.now() - since) / 1000).toFixed(2)} s`,
          );
          return;
        }
        const state = now.find((s) => s !== target) ?? "unknown";
        lastProblem =
          pending[0] === undefined ? `still ${state}` : `plug ${pending[0]} still ${state}`;
      } catch (err) {
        if (!(err instanceof KvmhaError)) throw err;
        lastProblem = err.message;
        log.debug(`status read failed while waiting: ${err.message}`);
      }
      if (deadline.expired()) break;
      await sleep(pauseMs, deadline);
      pauseMs = Math.min(pauseMs * 2, maxPauseMs);
    }
    if (attempt < attempts)
      log.warning(
        `power ${target} not confirmed within ${options.seconds("power_timeout")} s (attempt ${attempt} of ${attempts}): ${lastProblem}; trying again`,
      );
  }
  throw new FenceFailure(
    `Failed: Timed out waiting to power ${target.toUpperCase()}${lastProblem ? ` (${lastProblem})` : ""}`,
  );
}
