/**
 * libvirt domain states (`virsh domstate --reason`) and what they mean to a resource agent:
 * running, not running, failed (the guest exists but is broken), or unknown (ask again).
 */

export type DomainHealth =
  /** The guest runs (running, blocked, idle, in shutdown, paused for a benign reason, pmsuspended). */
  | "running"
  /** Shut off, or not defined at all. */
  | "stopped"
  /** A QEMU/guest exists but is broken: crashed, paused on an I/O error or after a guest panic. */
  | "failed"
  /** libvirt answered but has no state yet ("no state"), or something unknown: ask again. */
  | "unknown";

export interface DomainState {
  /** The state as virsh prints it, lower case: `running`, `paused`, `shut off`, … or `not found`. */
  readonly state: string;
  /** The reason in parentheses, lower case (`ioerror`, `booted`, `destroyed`), or "". */
  readonly reason: string;
  readonly health: DomainHealth;
}

/** Paused reasons after which the guest does not go on by itself: a failure, not a pause. */
const FAILED_PAUSE_REASONS: ReadonlySet<string> = new Set([
  "ioerror",
  "i/o error",
  "crashed",
  "panicked",
  "post-copy failed",
  "postcopy failed",
]);

const RUNNING_STATES: ReadonlySet<string> = new Set([
  "running",
  "blocked",
  "idle",
  "in shutdown",
  "pmsuspended",
]);

/** Maps `virsh domstate --reason` output (`paused (ioerror)`) to a DomainState. */
export function parseDomstate(output: string): DomainState {
  const line =
    output
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? "";
  const m = /^(.*?)\s*(?:\(([^)]*)\))?$/.exec(line.toLowerCase());
  const state = (m?.[1] ?? "").trim();
  const reason = (m?.[2] ?? "").trim();
  return { state, reason, health: healthOf(state, reason) };
}

export function healthOf(state: string, reason: string): DomainHealth {
  if (state === "shut off" || state === "shutoff") return "stopped";
  if (state === "crashed") return "failed";
  if (state === "paused") return FAILED_PAUSE_REASONS.has(reason) ? "failed" : "running";
  if (RUNNING_STATES.has(state)) return "running";
  return "unknown";
}

/** The domain does not exist (virsh's error for a name or UUID libvirt does not know). */
export function isNotFound(message: string): boolean {
  return /domain not found|failed to get domain|no domain with matching (name|uuid)/i.test(message);
}

/** virsh could not reach or talk to libvirtd (down, socket missing, connection dropped). */
export function isConnectionFailure(message: string): boolean {
  return /failed to connect to the hypervisor|unable to connect|no connection driver available|connection (reset|refused|closed)|cannot recv data|end of file while reading data|socket|hypervisor connection|keepalive/i.test(
    message,
  );
}

/** destroy/shutdown's "the domain is not running": the wanted outcome reached another way. */
export function isNotRunning(message: string): boolean {
  return /domain is not running|is not running/i.test(message);
}
