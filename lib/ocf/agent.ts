/**
 * What an OCF resource agent is: a declaration (docs, parameters, actions with their advised
 * timeouts) and one callback per action. Everything else (environment, validation, metadata,
 * usage, exit codes and reasons, logging, tracing, the op deadline) belongs to the framework in
 * this directory.
 */
import type { Deadline } from "../deadline.js";
import type { OcfStatus } from "./codes.js";
import type { OcfLog } from "./log.js";
import type { Env, OcfParams, ParamSpec } from "./params.js";

/**
 * The actions an agent may implement. `meta-data`, `validate-all` and `usage`/`help` are the
 * framework's. All but `reload-agent` are in ra-api-1.dtd's list.
 */
export type OcfActionName =
  | "start"
  | "stop"
  | "monitor"
  | "status"
  | "migrate_to"
  | "migrate_from"
  | "promote"
  | "demote"
  | "notify"
  | "reload"
  | "reload-agent";

export interface OcfContext {
  /** The agent's name (OCF_RESOURCE_TYPE). */
  readonly agent: string;
  readonly action: string;
  /** OCF_RESOURCE_INSTANCE (`default` when run by hand without it). */
  readonly instance: string;
  readonly params: OcfParams;
  readonly log: OcfLog;
  /** OCF_RESKEY_CRM_meta_timeout, or the default the runner documents. */
  readonly timeoutMs: number;
  /** OCF_RESKEY_CRM_meta_interval in ms: 0 for one-off operations. */
  readonly intervalMs: number;
  /** A monitor with interval 0: Pacemaker asking whether the resource runs here at all. */
  readonly isProbe: boolean;
  /** OCF_CHECK_LEVEL (or OCF_RESKEY_OCF_CHECK_LEVEL): how deep a monitor should look. */
  readonly checkLevel: number;
  /**
   * By when the action must be done: the op timeout less a margin, counted from the agent's
   * start. The runner cuts the action off here; waits inside should stop earlier.
   */
  readonly deadline: Deadline;
  /** Aborted when the deadline passes: hand it to child processes and sockets. */
  readonly signal: AbortSignal;
  /** HA_RSCTMP (default /run/resource-agents): state that must not survive a reboot. */
  readonly rscTmp: string;
  /** HA_VARLIB (default /var/lib/heartbeat). */
  readonly varLib: string;
  /** OCF_ROOT (default /usr/lib/ocf). */
  readonly ocfRoot: string;
  /** A Pacemaker meta attribute, `OCF_RESKEY_CRM_meta_<name>` (migrate_target, notify_type, …). */
  meta(name: string): string | undefined;
  /**
   * The environment for child processes: this one with LC_ALL=C and LANG/LANGUAGE removed, as
   * ocf-shellfuncs sets for its agents, so that tools print what the agent parses.
   */
  childEnv(): Record<string, string>;
}

export interface OcfActionSpec {
  /** The advised timeout metadata shows (`90s`), and the deadline when Pacemaker gives none. */
  readonly timeout: string;
  /** Advised interval (monitor), e.g. `10s`. */
  readonly interval?: string;
  /** OCF_CHECK_LEVEL the advertised entry is for. */
  readonly depth?: number;
  /** Role for the advertised entry (`Promoted`, `Unpromoted`). */
  readonly role?: string;
  /**
   * The action. Returns a state (nothing = success); throws an OcfError with a one-line reason
   * for a failure.
   */
  run(ctx: OcfContext): Promise<OcfStatus | undefined | void>;
}

export interface OcfAgent {
  /** OCF_RESOURCE_TYPE: `VirtualDomain`. */
  readonly name: string;
  /** The agent's own version (metadata's version attribute). */
  readonly version: string;
  readonly shortdesc: string;
  readonly longdesc: string;
  readonly parameters: readonly ParamSpec[];
  readonly actions: { readonly [A in OcfActionName]?: OcfActionSpec };
  /** Advised timeout for validate-all (default `20s`). */
  readonly validateTimeout?: string;
  /** Programs that must be on PATH for any action but meta-data (ocf-rarun's OCF_REQUIRED_BINARIES). */
  readonly requiredBinaries?: readonly string[];
  /**
   * Checks beyond each parameter's form (files readable, combinations), before every action but
   * meta-data and usage. Throws an OcfError; the runner maps it for stop and probes (see run.ts).
   */
  validate?(ctx: OcfContext): Promise<void> | void;
}

export type { Env };
