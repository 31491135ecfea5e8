/**
 * What a fence agent is: a declaration (docs, options, whether it has plugs) and a device with a
 * few callbacks. Everything else (option parsing, metadata, the verify-after-act loop, exit codes)
 * belongs to the framework in this directory.
 */
import type { Deadline } from "../deadline.js";
import type { Logger } from "../log.js";
import type { OptionGroup } from "./groups.js";
import type { AgentDocs } from "./metadata.js";
import type { OptionSpec } from "./options.js";
import type { FenceOptions } from "./values.js";

/** A power state as read from the device. Anything but "on" or "off" is "unknown", never "off". */
export type PowerState = "on" | "off" | "unknown";
export type PowerTarget = "on" | "off";

export interface FenceContext {
  readonly options: FenceOptions;
  readonly log: Logger;
  /** By when the device must be reached and logged in to (login_timeout). */
  readonly loginDeadline: Deadline;
  /** How long one command may take, retransmissions included (shell_timeout, or the agent's own). */
  readonly commandTimeoutMs: number;
  /** The device as messages name it: `10.0.0.1:623`, `10.0.0.5:161 plug 3`. */
  readonly device: string;
}

export interface PlugInfo {
  readonly plug: string;
  readonly alias?: string;
  readonly state?: PowerState;
}

/**
 * The device callbacks. `plug` is undefined for agents without plugs (one device = one target).
 * Callbacks throw KvmhaErrors for failures; they never decide success, the framework does. The
 * framework logs each step it sees (connect, status read, command, read-back); a callback logs the
 * steps inside it that an admin needs (`ctx.log.step`: the login, the device recognised) and
 * leaves the protocol trace to `ctx.log.debug`.
 */
export interface FenceDevice<Session> {
  connect(ctx: FenceContext): Promise<Session>;
  getPowerState(session: Session, plug: string | undefined, ctx: FenceContext): Promise<PowerState>;
  setPowerState(
    session: Session,
    plug: string | undefined,
    target: PowerTarget,
    ctx: FenceContext,
  ): Promise<void>;
  /** The device's own power cycle (method=cycle): unverified, so opt-in only. */
  powerCycle?(session: Session, plug: string | undefined, ctx: FenceContext): Promise<void>;
  /** A diagnostic interrupt (NMI), for agents that advertise `diag`. */
  diag?(session: Session, ctx: FenceContext): Promise<void>;
  listPlugs?(session: Session, ctx: FenceContext): Promise<readonly PlugInfo[]>;
  /** Always called once connect succeeded; must be bounded and must not throw. */
  disconnect(session: Session, ctx: FenceContext): Promise<void>;
}

/**
 * Another name the agent answers to (a link named after a fence-agents agent, e.g. fence_ilo3),
 * with its own description and, where the device family needs it, its own option defaults.
 */
export interface FenceAlias {
  readonly name: string;
  readonly shortdesc: string;
  /** Appended to the agent's longdesc: what this name changes, said once. */
  readonly note?: string;
  /** Option defaults that differ under this name (e.g. power_wait for iLO3). */
  readonly defaults?: Readonly<Record<string, string>>;
}

export interface FenceAgent<Session> {
  readonly docs: AgentDocs;
  /** The names of fence-agents agents this agent stands in for (see lib/fence/alias.ts). */
  readonly aliases?: readonly FenceAlias[];
  /** The agent's own options and the standard ones it uses (common ones are added by the framework). */
  readonly options: readonly OptionSpec[];
  /** Option groups it takes (lib/fence/groups.ts): "ssl", "snmp"; its own options win over theirs. */
  readonly groups?: readonly OptionGroup[];
  /** "none": the device is the target (IPMI). "many": plugs select targets (PDU outlets). */
  readonly plugs: "none" | "many";
  /** Options that must be set for any action that talks to the device. */
  readonly required: readonly string[];
  /** Must a password or password_script be given? */
  readonly needsPassword: boolean;
  /** Extra actions beyond the standard set (e.g. "diag"). */
  readonly extraActions?: readonly string[];
  /** Agent-specific checks of option combinations; throws UsageError. */
  validate?(options: FenceOptions, log: Logger): void;
  /** The per-command budget in ms, when the agent has its own option for it (ipmitool_timeout). */
  commandTimeoutMs?(options: FenceOptions): number;
  readonly device: FenceDevice<Session>;
}

/**
 * What kvmha reads from an agent's file (`export const registration` in fence/fence_*.ts): the
 * command line, the build, the packages, man pages, `kvmha render` and `kvmha check` all take the
 * agent from here (fence/registry.ts finds the files), so a new agent is its file, its tests and
 * its lab device (docs/adding-an-agent.md).
 */
export interface FenceRegistration<Session = unknown> {
  readonly agent: FenceAgent<Session>;
  /** Installed by install-agents and the packages, advertised in `kvmha --help`. */
  readonly shipped: boolean;
  /**
   * The fence-agents agent it stands in for, and the distribution package that owns that agent's
   * files (and its aliases'): an agent or alias of a fence-agents name is packaged in
   * kvmha-fence-aliases, diverted on Debian, in place of that package on RPM systems.
   */
  readonly replaces: { readonly agent: string; readonly package: string };
  /** Where its devices stand in a topology (absent: kvmha render and check do not know it). */
  readonly topology?: FenceTopology;
  /** Runs the protocol client's whole path once while the startup snapshot is taken (no timers). */
  readonly warmUp?: () => Promise<unknown>;
}

export interface FenceTopology {
  /** The fencing level its devices make: the node's own BMC (level 1), or a PDU outlet. */
  readonly level: "bmc" | "pdu";
  /** The inventory's `protocol:` of that device that renders this agent (bmc: ipmi, redfish). */
  readonly protocol: string;
  /**
   * fence-agents' agents whose devices are the same kind: kvmha check counts them at this level and
   * `kvmha check --probe` asks them through this agent (their own aliases are counted anyway).
   */
  readonly recognises: readonly string[];
  /**
   * Those of them whose devices this agent can ask in their place (`kvmha check --probe`): same
   * protocol, same options (fence_ipmilan for fence_ipmi; fence_eaton_snmp, one of fence_pdu's
   * profiles). Its own name and aliases are always asked through it.
   */
  readonly probes: readonly string[];
}
