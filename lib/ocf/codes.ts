/**
 * OCF exit codes and the typed errors that carry them. An action reports a failure by throwing one
 * of these with a one-line reason (it becomes the `ocf-exit-reason:` line); it reports a state
 * (running, not running, master, degraded) by returning its code.
 */
import { KvmhaError } from "../errors.js";

/**
 * The OCF return codes, named as resource-agents' ocf-returncodes names them without the `OCF_`
 * prefix. 190 and 191 are Pacemaker's degraded states (OCF 1.1); resource-agents 4.12's
 * ocf-returncodes does not define them yet.
 */
export const OcfExit = {
  SUCCESS: 0,
  ERR_GENERIC: 1,
  ERR_ARGS: 2,
  ERR_UNIMPLEMENTED: 3,
  ERR_PERM: 4,
  ERR_INSTALLED: 5,
  ERR_CONFIGURED: 6,
  NOT_RUNNING: 7,
  RUNNING_MASTER: 8,
  FAILED_MASTER: 9,
  DEGRADED: 190,
  DEGRADED_MASTER: 191,
} as const;

export type OcfExitCode = (typeof OcfExit)[keyof typeof OcfExit];

/** What an action may return: states, not failures (failures are thrown, with a reason). */
export type OcfStatus =
  | typeof OcfExit.SUCCESS
  | typeof OcfExit.NOT_RUNNING
  | typeof OcfExit.RUNNING_MASTER
  | typeof OcfExit.DEGRADED
  | typeof OcfExit.DEGRADED_MASTER;

/** An OCF failure: its exit code and a one-line reason that is safe to print and log. */
export abstract class OcfError extends KvmhaError {
  abstract override readonly exitCode: OcfExitCode;
}

/** OCF_ERR_GENERIC: a soft error; Pacemaker may retry here or recover elsewhere. */
export class OcfGenericError extends OcfError {
  readonly exitCode = OcfExit.ERR_GENERIC;
}

/** OCF_ERR_ARGS: the agent was called wrongly (not a configuration problem). */
export class OcfArgsError extends OcfError {
  readonly exitCode = OcfExit.ERR_ARGS;
}

/** OCF_ERR_UNIMPLEMENTED: the action is not implemented by this agent. */
export class OcfUnimplemented extends OcfError {
  readonly exitCode = OcfExit.ERR_UNIMPLEMENTED;
}

/** OCF_ERR_PERM: insufficient privileges. */
export class OcfPermissionError extends OcfError {
  readonly exitCode = OcfExit.ERR_PERM;
}

/** OCF_ERR_INSTALLED: something the agent needs is missing on this node (a hard error here). */
export class OcfNotInstalled extends OcfError {
  readonly exitCode = OcfExit.ERR_INSTALLED;
}

/** OCF_ERR_CONFIGURED: the resource's configuration is wrong (a fatal error on every node). */
export class OcfNotConfigured extends OcfError {
  readonly exitCode = OcfExit.ERR_CONFIGURED;
}

/** OCF_NOT_RUNNING with a reason: e.g. a monitor that found the resource gone unexpectedly. */
export class OcfNotRunning extends OcfError {
  readonly exitCode = OcfExit.NOT_RUNNING;
}

/** OCF_FAILED_MASTER: a promoted instance has failed. */
export class OcfFailedMaster extends OcfError {
  readonly exitCode = OcfExit.FAILED_MASTER;
}
