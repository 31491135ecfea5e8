/**
 * The fence agents as topology sees them, from their registrations (fence/registry.ts): which
 * level a CIB's agent makes (check), which agent asks a device (--probe), which agent a BMC's
 * protocol renders (render, the inventory's `bmc.protocol`). No agent is named here.
 */
import type { FenceRegistration } from "../lib/fence/agent.js";
import { fenceAgentsSync } from "../fence/registry.js";

/** The registered agent that serves `agent` (a CIB's type): its own name, an alias, or one it recognises. */
export function registrationFor(agent: string): FenceRegistration | undefined {
  const all = fenceAgentsSync().filter((r) => r.topology !== undefined);
  return (
    all.find((r) => r.agent.docs.name === agent) ??
    all.find((r) => (r.agent.aliases ?? []).some((a) => a.name === agent)) ??
    all.find((r) => r.topology?.recognises.includes(agent) === true)
  );
}

/** The inventory's BMC protocols (`bmc.protocol`), the first the default. */
export function bmcProtocols(): string[] {
  return fenceAgentsSync()
    .filter((r) => r.topology?.level === "bmc")
    .map((r) => r.topology?.protocol ?? "")
    .sort((a, b) => (a === "ipmi" ? -1 : b === "ipmi" ? 1 : a < b ? -1 : 1));
}

/** The agent a BMC of this protocol is fenced with. */
export function bmcAgent(protocol: string): string {
  const r = fenceAgentsSync().find(
    (x) => x.topology?.level === "bmc" && x.topology.protocol === protocol,
  );
  if (r === undefined) throw new Error(`no fence agent registers the BMC protocol ${protocol}`);
  return r.agent.docs.name;
}

/** The registered agent `kvmha check --probe` asks a device of this (CIB) agent with, if any. */
export function probeAgentFor(agent: string): string | undefined {
  const r = registrationFor(agent);
  if (r?.topology === undefined) return undefined;
  const own = r.agent.docs.name === agent || (r.agent.aliases ?? []).some((a) => a.name === agent);
  return own || r.topology.probes.includes(agent) ? r.agent.docs.name : undefined;
}
