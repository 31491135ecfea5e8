/**
 * How VirtualDomain's actions reach libvirt: the action's session (hypervisor URI, environment,
 * abort signal, log), virsh bounded by the step's deadline, and the domain's state
 * (lib/libvirt/observe.ts: libvirtd's socket first, virsh the fallback).
 */
import type { Deadline } from "../../lib/deadline.js";
import { type Observation, observeDomain, settledState } from "../../lib/libvirt/observe.js";
import {
  type LibvirtSession,
  type VirshResult,
  runVirsh,
  virshReason,
} from "../../lib/libvirt/virsh.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { stepDeadline } from "../../lib/ocf/toolbox.js";
import { hypervisor } from "./parameters.js";

/** How often states are polled while waiting. */
export const POLL_MS = 500;

export function session(ctx: OcfContext): LibvirtSession {
  return { uri: hypervisor(ctx), env: ctx.childEnv(), signal: ctx.signal, log: ctx.log };
}

/** `virsh ARGS` on the resource's hypervisor, by default within the step's deadline. */
export function run(
  ctx: OcfContext,
  args: readonly string[],
  deadline: Deadline = stepDeadline(ctx),
): Promise<VirshResult> {
  return runVirsh(session(ctx), args, deadline);
}

/** Why a virsh call gave no answer (lib/libvirt/virsh.ts virshReason), for this resource's URI. */
export function reason(ctx: OcfContext, r: VirshResult): string {
  return virshReason(r, hypervisor(ctx));
}

/** `virsh COMMAND: why` (the command names the step). */
export function failed(ctx: OcfContext, r: VirshResult, command: string): string {
  return `virsh ${command}: ${reason(ctx, r)}`;
}

/** The domain's state now (one answer), by default within the step's deadline. */
export function observe(
  ctx: OcfContext,
  name: string,
  deadline: Deadline = stepDeadline(ctx),
): Promise<Observation> {
  return observeDomain(session(ctx), name, deadline);
}

/** The state, asked again while libvirt has none yet or cannot be reached, until `deadline`. */
export function settled(ctx: OcfContext, name: string, deadline: Deadline): Promise<Observation> {
  return settledState(session(ctx), name, deadline);
}
