/**
 * A domain's state as a resource agent observes it: asked of libvirtd over its local socket where
 * it can be (remote.ts: no process started, what a steady-state monitor needs), else, or failing
 * that, with `virsh domstate --reason`, whose answers and errors are the reference. The answer is
 * a state, "gone" (no such domain), or why libvirt could not say.
 */
import { existsSync, readFileSync } from "node:fs";
import { type Deadline, sleep } from "../deadline.js";
import { type LocalEndpoint, localEndpoint, remoteDomainState } from "./remote.js";
import { type DomainState, isConnectionFailure, isNotFound, parseDomstate } from "./state.js";
import { type LibvirtSession, runVirsh, virshMessage, virshReason } from "./virsh.js";

export type Observation =
  | { readonly kind: "state"; readonly state: DomainState }
  | { readonly kind: "gone" }
  | {
      readonly kind: "error";
      /** `state of domain NAME: why`. */
      readonly reason: string;
      /** libvirtd could not be reached (or did not answer): QEMU's processes may tell instead. */
      readonly connection: boolean;
      /** There was no time left to ask: the observation says nothing new. */
      readonly notStarted: boolean;
    };

/** Shut off, or not defined at all: nothing of it runs. */
export function isStopped(o: Observation): boolean {
  return o.kind === "gone" || (o.kind === "state" && o.state.health === "stopped");
}

export function isRunning(o: Observation): boolean {
  return o.kind === "state" && o.state.health === "running";
}

/** The observation in a few words: `running (booted)`, `not defined`, or the reason. */
export function describeObservation(o: Observation): string {
  if (o.kind === "gone") return "not defined";
  if (o.kind === "error") return o.reason;
  return `${o.state.state}${o.state.reason === "" ? "" : ` (${o.state.reason})`}`;
}

/** The most of a step's time the socket gets before virsh is asked instead (and never over half). */
const REMOTE_MS = 5000;

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

/** libvirtd's socket when the hypervisor URI names a local one that virsh would use too. */
export function libvirtdEndpoint(uri: string | undefined): LocalEndpoint | undefined {
  return localEndpoint(uri, {
    exists: existsSync,
    clientConf: () => readOr("/etc/libvirt/libvirt.conf"),
    euid: process.geteuid?.() ?? -1,
  });
}

/** The domain's state, its absence, or why libvirt could not say; within `deadline`. */
export async function observeDomain(
  s: LibvirtSession,
  name: string,
  deadline: Deadline,
): Promise<Observation> {
  const endpoint = libvirtdEndpoint(s.uri);
  if (endpoint !== undefined) {
    const a = await remoteDomainState(
      endpoint,
      name,
      deadline.within(Math.min(REMOTE_MS, deadline.remainingMs() / 2)),
    );
    if (a.kind === "state") {
      s.log.debug(`libvirtd at ${endpoint.socket}: domain ${name} ${a.line}`);
      return { kind: "state", state: parseDomstate(a.line) };
    }
    if (a.kind === "gone") {
      s.log.debug(`libvirtd at ${endpoint.socket}: no domain ${name}`);
      return { kind: "gone" };
    }
    s.log.debug(`asking virsh instead: ${a.why}`);
  }
  const r = await runVirsh(s, ["domstate", "--reason", name], deadline);
  if (r.code === 0) return { kind: "state", state: parseDomstate(r.stdout) };
  const message = virshMessage(r);
  if (r.code !== undefined && isNotFound(message)) return { kind: "gone" };
  return {
    kind: "error",
    reason: `state of domain ${name}: ${virshReason(r, s.uri)}`,
    connection: r.timedOut || r.code === undefined || isConnectionFailure(message),
    notStarted: !r.started && r.spawnError === undefined,
  };
}

/**
 * The state, asked again while libvirt has none yet ("no state") or cannot be reached, until
 * `deadline`. Returns the last observation.
 */
export async function settledState(
  s: LibvirtSession,
  name: string,
  deadline: Deadline,
): Promise<Observation> {
  let last: Observation | undefined;
  for (;;) {
    const o = await observeDomain(s, name, deadline);
    // A call that had no time to run says nothing new: keep the previous answer as the reason.
    if (o.kind === "error" && o.notStarted && last !== undefined) return last;
    last = o;
    if (o.kind === "gone" || (o.kind === "state" && o.state.health !== "unknown")) return o;
    if (deadline.remainingMs() < 2000) return o;
    s.log.info(
      o.kind === "state"
        ? `domain ${name} has no definite state yet (${o.state.state}), asking again`
        : `${o.reason}; asking again`,
    );
    await sleep(1000, deadline);
  }
}
