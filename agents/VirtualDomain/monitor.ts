/**
 * monitor (and status, and the probe): libvirt's state mapped to OCF, the /proc fallback when
 * libvirtd cannot be asked, the guest agent and monitor_scripts checks; and reload-agent, which
 * only has the utilization to redo.
 */
import { qemuProcessRunning } from "../../lib/libvirt/qemu-process.js";
import { type Observation, isRunning } from "../../lib/libvirt/observe.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfExit, OcfGenericError, type OcfStatus } from "../../lib/ocf/codes.js";
import { runTool, stepDeadline } from "../../lib/ocf/toolbox.js";
import { type Domain, findDomain, isQemu, writeRecord } from "./domain.js";
import { reason, run, settled } from "./libvirt.js";
import { words } from "./parameters.js";
import { updateUtilization } from "./utilization.js";

/** OCF status of a settled observation, for monitor. Throws for failures. */
async function statusOf(ctx: OcfContext, d: Domain, o: Observation): Promise<OcfStatus> {
  if (o.kind === "gone") {
    ctx.log.debug(`domain ${d.name} is not defined: not running`);
    return OcfExit.NOT_RUNNING;
  }
  if (o.kind === "error") {
    if (o.connection && isQemu(d)) {
      const up = await qemuProcessRunning(d.name);
      ctx.log.warning(`${o.reason}; a QEMU process for ${d.name} is ${up ? "" : "not "}running`);
      return up ? OcfExit.SUCCESS : OcfExit.NOT_RUNNING;
    }
    throw new OcfGenericError(o.reason);
  }
  const s = o.state;
  const shown = `${s.state}${s.reason === "" ? "" : ` (${s.reason})`}`;
  switch (s.health) {
    case "running":
      return OcfExit.SUCCESS;
    case "stopped":
      return OcfExit.NOT_RUNNING;
    case "failed":
      throw new OcfGenericError(`domain ${d.name} has failed: ${shown}`);
    default:
      throw new OcfGenericError(`domain ${d.name} has no definite state: ${shown}`);
  }
}

/** How long the guest agent may take to answer guest-ping. */
export const GUEST_AGENT_MS = 5_000;

/** guest_agent_check: the QEMU guest agent answers guest-ping, or why not. */
async function pingGuestAgent(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  const deadline = stepDeadline(ctx, GUEST_AGENT_MS + 2000);
  const seconds = Math.max(
    1,
    Math.min(GUEST_AGENT_MS / 1000, Math.floor((deadline.remainingMs() - 500) / 1000)),
  );
  const r = await run(
    ctx,
    ["qemu-agent-command", d.name, '{"execute":"guest-ping"}', "--timeout", String(seconds)],
    deadline,
  );
  if (r.code === 0) return undefined;
  return `guest agent of domain ${d.name} does not answer: ${reason(ctx, r)}`;
}

/**
 * The guest agent check (guest_agent_check), then monitor_scripts in order: the first failure is
 * the reason; undefined when all pass.
 */
export async function runMonitorScripts(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  if (ctx.params.flag("guest_agent_check")) {
    const failed = await pingGuestAgent(ctx, d);
    if (failed !== undefined) return failed;
  }
  for (const script of words(ctx, "monitor_scripts")) {
    const r = await runTool(ctx, script, [], stepDeadline(ctx), { maxOutput: 1024 * 1024 });
    const what = `monitor script ${script} for domain ${d.name}`;
    if (r.why !== undefined) return `${what} failed: ${r.why}`;
    ctx.log.debug(`${what} succeeded: ${`${r.stdout} ${r.stderr}`.trim().slice(0, 300)}`);
  }
  return undefined;
}

export async function monitor(ctx: OcfContext): Promise<OcfStatus> {
  const { domain: d, configProblem, recorded } = await findDomain(ctx, true);
  if (d === undefined) {
    // Neither the config nor a record of a start here: nothing this agent started can run here.
    ctx.log.info(`${configProblem ?? "no domain"}; no record of a start on this node: not running`);
    return OcfExit.NOT_RUNNING;
  }
  if (configProblem !== undefined)
    ctx.log.warning(`${configProblem}; asking libvirt about domain ${d.name} (recorded at start)`);
  const status = await statusOf(ctx, d, await settled(ctx, d.name, stepDeadline(ctx)));
  if (status !== OcfExit.SUCCESS) return status;
  // The record keeps the parsed config for the next monitors (and the name for a stop without it).
  if (configProblem === undefined && !recorded) await writeRecord(ctx, d);
  const failed = await runMonitorScripts(ctx, d);
  if (failed !== undefined) throw new OcfGenericError(failed);
  await updateUtilization(ctx, d);
  return OcfExit.SUCCESS;
}

/**
 * reload-agent (OCF 1.1): Pacemaker changed only parameters marked reloadable. Each action reads
 * its parameters afresh, so nothing needs to be redone but the utilization, which a changed
 * autoset/unset flag may alter; the domain is not touched.
 */
export async function reloadAgent(ctx: OcfContext): Promise<void> {
  const { domain: d } = await findDomain(ctx);
  if (d === undefined) return;
  if (isRunning(await settled(ctx, d.name, stepDeadline(ctx, 10_000))))
    await updateUtilization(ctx, d);
  ctx.log.info(`reloaded the parameters of ${ctx.instance}`);
}
