/**
 * stop: never success while libvirt still shows the guest. A graceful shutdown (honouring
 * shutdown_mode, the request repeated) within the op timeout less a destroy reserve, or a snapshot
 * saved with `virsh save`; then destroy, then a check. The persistent definition start set aside
 * is defined again after.
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { Deadline, secs, sleep } from "../../lib/deadline.js";
import {
  type Observation,
  describeObservation as describe,
  isRunning,
  isStopped,
} from "../../lib/libvirt/observe.js";
import { qemuProcessRunning } from "../../lib/libvirt/qemu-process.js";
import { isNotFound, isNotRunning } from "../../lib/libvirt/state.js";
import { type VirshResult, virshMessage } from "../../lib/libvirt/virsh.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError } from "../../lib/ocf/codes.js";
import { REPORT_MS, stepDeadline } from "../../lib/ocf/toolbox.js";
import { restoreDefinition } from "./definition.js";
import { type Domain, findDomain, isQemu } from "./domain.js";
import { POLL_MS, failed, observe, reason, run, settled } from "./libvirt.js";
import { given, text } from "./parameters.js";
import { saveConfig } from "./save-config.js";

/** Time kept back from a graceful shutdown for destroy and the final check (at least). */
export const DESTROY_RESERVE_MS = 15_000;
/** How often a graceful shutdown request is repeated (a power button pressed during boot is lost). */
export const SHUTDOWN_REPEAT_MS = 10_000;

export async function stop(ctx: OcfContext): Promise<void> {
  await stopDomain(ctx);
  await restoreDefinition(ctx);
}

/** virsh's "not running" or "no such domain" to a stop request: the wanted outcome already. */
function alreadyDown(r: VirshResult): boolean {
  const message = virshMessage(r);
  return r.code !== undefined && (isNotRunning(message) || isNotFound(message));
}

/** The time a graceful step (shutdown, save) may take: all but the destroy reserve. */
function graceMs(ctx: OcfContext): number {
  return ctx.deadline.remainingMs() - Math.max(DESTROY_RESERVE_MS, REPORT_MS);
}

async function stopDomain(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined) {
    ctx.log.info(
      `${configProblem ?? "no domain"}; no record of a start on this node: resource considered stopped`,
    );
    return;
  }
  if (configProblem !== undefined)
    ctx.log.warning(`${configProblem}; stopping domain ${d.name} (recorded at start)`);
  const first = await settled(ctx, d.name, stepDeadline(ctx, 10_000));
  if (isStopped(first)) {
    ctx.log.info(`domain ${d.name} already stopped (${describe(first)})`);
    return;
  }
  if (first.kind === "error") {
    if (first.connection && isQemu(d) && !(await qemuProcessRunning(d.name))) {
      ctx.log.warning(`${first.reason}; no QEMU process for ${d.name} runs: stopped`);
      return;
    }
    throw new OcfGenericError(`cannot stop domain ${d.name}: ${first.reason}`);
  }
  if (!isRunning(first)) {
    // crashed, paused on an error: nothing graceful can work.
    ctx.log.info(`domain ${d.name} is ${describe(first)}: destroying it`);
    return destroy(ctx, d);
  }
  await saveConfig(ctx, d);
  if (ctx.params.flag("force_stop")) return destroy(ctx, d);
  if (given(ctx, "snapshot") && (await saveState(ctx, d))) return;
  const ms = graceMs(ctx);
  if (ms < 1000) {
    ctx.log.warning(
      `stop timeout ${secs(ctx.timeoutMs)} leaves no time for a graceful shutdown before the ${secs(DESTROY_RESERVE_MS)} destroy reserve: destroying domain ${d.name}`,
    );
    return destroy(ctx, d);
  }
  const grace = Deadline.in(ms);
  const mode = text(ctx, "shutdown_mode");
  const args = ["shutdown", d.name, ...(mode === "" ? [] : ["--mode", mode])];
  const request = async (): Promise<boolean> => {
    const r = await run(ctx, args, grace.within(Math.max(grace.remainingMs(), 0)));
    if (r.code === 0 || alreadyDown(r)) return true;
    ctx.log.warning(
      `graceful shutdown request for domain ${d.name} failed: ${failed(ctx, r, "shutdown")}`,
    );
    return false;
  };
  ctx.log.info(
    `shutting down domain ${d.name} gracefully${mode === "" ? "" : ` (mode ${mode})`}, up to ${secs(ms)}`,
  );
  if (await request()) {
    let lastRequest = Date.now();
    const o = await waitStopped(ctx, d, grace, async () => {
      if (Date.now() - lastRequest >= SHUTDOWN_REPEAT_MS && grace.remainingMs() > 1000) {
        lastRequest = Date.now();
        ctx.log.info(`domain ${d.name} still running: repeating the shutdown request`);
        await request();
      }
    });
    if (isStopped(o)) {
      ctx.log.info(`domain ${d.name} shut down gracefully (${describe(o)})`);
      return;
    }
    ctx.log.warning(
      `domain ${d.name} did not shut down within ${secs(ms)} (${describe(o)}): destroying it`,
    );
  }
  return destroy(ctx, d);
}

/** Waits until the domain is not running (shut off or gone) or `until` passes. */
async function waitStopped(
  ctx: OcfContext,
  d: Domain,
  until: Deadline,
  onTick?: () => Promise<void>,
): Promise<Observation> {
  for (;;) {
    const o = await observe(
      ctx,
      d.name,
      until.within(Math.max(ctx.deadline.remainingMs() - REPORT_MS, 0)),
    );
    if (isStopped(o)) return o;
    if (until.remainingMs() < POLL_MS) return o;
    await sleep(POLL_MS, until);
    await onTick?.();
  }
}

async function destroy(ctx: OcfContext, d: Domain): Promise<void> {
  ctx.log.info(`destroying domain ${d.name} (forced stop)`);
  let last: Observation | undefined;
  for (let attempt = 1; ; attempt++) {
    const r = await run(ctx, ["destroy", d.name]);
    if (r.code !== 0 && !alreadyDown(r))
      ctx.log.warning(
        `destroy of domain ${d.name} (attempt ${attempt}): ${failed(ctx, r, "destroy")}`,
      );
    last = await waitStopped(ctx, d, stepDeadline(ctx, 5000));
    if (isStopped(last)) {
      ctx.log.info(`domain ${d.name} destroyed: ${describe(last)}`);
      return;
    }
    if (stepDeadline(ctx).remainingMs() < 1000) break;
  }
  throw new OcfGenericError(`domain ${d.name} still not stopped after destroy: ${describe(last)}`);
}

/**
 * snapshot on stop: `virsh save` the running domain to DIR/NAME.state, within the time a graceful
 * shutdown would get. True once the domain is stopped with its state saved; false (after a
 * logged error, the job aborted and a partial file removed) to go on with a shutdown.
 */
async function saveState(ctx: OcfContext, d: Domain): Promise<boolean> {
  const file = join(text(ctx, "snapshot"), `${d.name}.state`);
  const ms = graceMs(ctx);
  if (ms < 2000) {
    ctx.log.error(
      `no time to save domain ${d.name}'s state before the ${secs(DESTROY_RESERVE_MS)} destroy reserve: not saved`,
    );
    return false;
  }
  ctx.log.info(`saving domain ${d.name}'s state to ${file}, up to ${secs(ms)}`);
  const r = await run(ctx, ["save", d.name, file], Deadline.in(ms));
  if (r.code === 0) {
    const o = await waitStopped(ctx, d, stepDeadline(ctx, 10_000));
    if (isStopped(o)) {
      ctx.log.info(`domain ${d.name} saved to ${file} and stopped`);
      return true;
    }
    ctx.log.error(`domain ${d.name} saved to ${file} but still ${describe(o)}`);
    return false;
  }
  ctx.log.error(`failed to save domain ${d.name}'s state to ${file}: ${reason(ctx, r)}`);
  if (r.timedOut) await abortJob(ctx, d, 5000);
  const o = await observe(ctx, d.name, stepDeadline(ctx, 5000));
  if (isRunning(o)) {
    // A partial state file would make every later start fail to restore it.
    await fs.rm(file, { force: true }).catch(() => undefined);
    return false;
  }
  if (isStopped(o)) {
    ctx.log.info(`domain ${d.name} stopped: the save finished after all`);
    return true;
  }
  return false;
}

/** virsh was killed, but libvirtd's job (save, migrate) goes on unless aborted: abort it. */
export async function abortJob(ctx: OcfContext, d: Domain, ms: number): Promise<void> {
  const a = await run(ctx, ["domjobabort", d.name], stepDeadline(ctx, ms));
  if (a.code !== 0)
    ctx.log.warning(`domjobabort of domain ${d.name}: ${failed(ctx, a, "domjobabort")}`);
}
