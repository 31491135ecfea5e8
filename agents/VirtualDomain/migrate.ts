/**
 * migrate_to: a live migration to the node Pacemaker names, bounded: the job is aborted
 * (domjobabort) before the op deadline, or at migration_time_limit, leaving the guest running
 * here (never once it is in post-copy). migrate_from: the guest must run here, confirmed within
 * the op's time, never waited for without bound.
 */
import { secs, sleep } from "../../lib/deadline.js";
import {
  MigrationConfigError,
  MigrationJob,
  type MigrationPlan,
  migrationPlan,
} from "../../lib/libvirt/migrate.js";
import {
  describeObservation as describe,
  isRunning,
  isStopped,
} from "../../lib/libvirt/observe.js";
import { virsh } from "../../lib/libvirt/virsh.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError, OcfNotConfigured } from "../../lib/ocf/codes.js";
import { stepDeadline } from "../../lib/ocf/toolbox.js";
import { type Domain, findDomain, writeRecord } from "./domain.js";
import { POLL_MS, failed, observe, reason, run, session, settled } from "./libvirt.js";
import { runMonitorScripts } from "./monitor.js";
import { count, hypervisor } from "./parameters.js";
import { saveConfig } from "./save-config.js";
import { startResources } from "./start.js";
import { abortJob } from "./stop.js";
import { updateUtilization } from "./utilization.js";

/** Kept back from migrate_to's deadline to abort the migration job and confirm the guest stayed. */
export const ABORT_RESERVE_MS = 5_000;

/** The local hypervisor URI: the parameter, else virsh's default as `virsh uri` prints it. */
async function localUri(ctx: OcfContext): Promise<string> {
  const u = hypervisor(ctx);
  if (u !== undefined) return u;
  const r = await run(ctx, ["uri"], stepDeadline(ctx, 10_000));
  if (r.code !== 0) throw new OcfGenericError(failed(ctx, r, "uri"));
  return r.stdout.trim();
}

async function plan(ctx: OcfContext): Promise<MigrationPlan> {
  const local = await localUri(ctx);
  try {
    return migrationPlan({
      hypervisor: local,
      targetNode: ctx.meta("migrate_target"),
      remoteuri: ctx.params.string("remoteuri"),
      migrationTransport: ctx.params.string("migration_transport"),
      migrationUser: ctx.params.string("migration_user"),
      migrationNetworkSuffix: ctx.params.string("migration_network_suffix"),
      migrateuri: ctx.params.string("migrateuri"),
      migrateport: ctx.params.string("migrateport"),
      migrateOptions: ctx.params.string("migrate_options"),
    });
  } catch (err) {
    if (err instanceof MigrationConfigError) throw new OcfNotConfigured(err.message);
    throw err;
  }
}

/** Has the migration switched to post-copy? (The source then shows `paused (post-copy)`.) */
async function inPostcopy(ctx: OcfContext, d: Domain): Promise<boolean> {
  const o = await observe(ctx, d.name, stepDeadline(ctx, 5000));
  return o.kind === "state" && o.state.state === "paused" && /post-?copy/.test(o.state.reason);
}

/** Does this virsh's command know an option? (`virsh help CMD`, bounded; unknown → no.) */
async function virshHasOption(ctx: OcfContext, command: string, option: string): Promise<boolean> {
  const r = await virsh(["help", command], stepDeadline(ctx, 5000), {
    env: ctx.childEnv(),
    signal: ctx.signal,
  });
  return (
    r.code === 0 &&
    new RegExp(`(^|\\s|\\[)${option.replace(/-/g, "\\-")}(\\]|\\s|$)`, "m").test(r.stdout)
  );
}

/**
 * Live migration to OCF_RESKEY_CRM_meta_migrate_target. `virsh migrate --live` is bounded: when
 * it has not finished ABORT_RESERVE_MS before the op deadline the job is aborted (domjobabort),
 * so the guest goes on running here and the action fails with the reason.
 */
export async function migrateTo(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined)
    throw new OcfGenericError(
      `migrate_to: ${configProblem ?? "no domain"}; no record of a start on this node`,
    );
  const mp = await plan(ctx);
  const first = await settled(ctx, d.name, stepDeadline(ctx, 10_000));
  if (!isRunning(first))
    throw new OcfGenericError(
      `domain ${d.name}: migrate_to: not active locally (${describe(first)})`,
    );
  await saveConfig(ctx, d);
  if (ctx.params.flag("start_resources") && d.xml !== undefined)
    await startResources(ctx, d.xml, mp.remoteUri);
  const speed = count(ctx, "migration_speed");
  const postcopy = ctx.params.flag("migration_postcopy");
  const postcopyAfter = count(ctx, "migration_postcopy_after");
  const limitMs = count(ctx, "migration_time_limit") * 1000;
  // --postcopy-after-precopy (libvirt 5.x+) lets libvirt switch by itself; asked of this virsh only when needed.
  const autoSwitch =
    postcopy &&
    postcopyAfter === 0 &&
    (await virshHasOption(ctx, "migrate", "--postcopy-after-precopy"));
  const args = [
    "migrate",
    "--live",
    ...mp.options,
    ...(ctx.params.flag("migration_auto_converge") ? ["--auto-converge"] : []),
    ...(postcopy ? ["--postcopy"] : []),
    ...(autoSwitch ? ["--postcopy-after-precopy"] : []),
    ...(speed > 0 ? ["--bandwidth", String(speed)] : []),
    d.name,
    mp.remoteUri,
    ...(mp.migrateUri === undefined ? [] : ["--migrateuri", mp.migrateUri]),
  ];
  const whole = stepDeadline(ctx);
  const reserveAt =
    whole.remainingMs() - Math.min(ABORT_RESERVE_MS, Math.floor(whole.remainingMs() / 3));
  const abortAt = limitMs > 0 ? Math.min(limitMs, reserveAt) : reserveAt;
  if (abortAt < 1000)
    throw new OcfGenericError(
      `domain ${d.name}: migrate_to timeout ${secs(ctx.timeoutMs)} leaves no time to migrate`,
    );
  const why =
    limitMs > 0 && limitMs <= reserveAt
      ? `migration_time_limit ${secs(limitMs)}`
      : `op timeout ${secs(ctx.timeoutMs)}`;
  const to = `domain ${d.name}: live migration to ${mp.targetHost}`;
  ctx.log.info(`${to} (virsh ${args.join(" ")}), up to ${secs(abortAt)}`);
  const job = new MigrationJob(session(ctx), d.name, args, whole, {
    abortAtMs: abortAt,
    downtimeMs: count(ctx, "migration_downtime"),
    postcopyAfterMs: postcopy && !autoSwitch ? postcopyAfter * 1000 : undefined,
  });
  if ((await job.outcome()) === "late") {
    if (postcopy && (await inPostcopy(ctx, d))) {
      // The guest already runs on the target: an abort is impossible, and would lose it. Wait.
      ctx.log.warning(
        `${to} not finished after ${secs(job.elapsedMs())} but already in post-copy: waiting for it`,
      );
    } else {
      ctx.log.warning(
        `${to} not finished after ${secs(job.elapsedMs())}: aborting the migration job`,
      );
      await abortJob(ctx, d, 10_000);
      if ((await job.finished()).code === 0) {
        ctx.log.info(`${to} completed before the abort took effect`);
        return;
      }
      const here = await observe(ctx, d.name);
      throw new OcfGenericError(
        `${to} did not finish within ${secs(abortAt)} (${why}): migration job aborted, domain ${isRunning(here) ? "still runs on this node" : `is ${describe(here)} on this node`}`,
      );
    }
  }
  const r = await job.finished();
  if (r.code !== 0) {
    const here = await observe(ctx, d.name);
    throw new OcfGenericError(`${to} failed: ${reason(ctx, r)} (on this node: ${describe(here)})`);
  }
  ctx.log.info(`${to} succeeded in ${secs(job.elapsedMs())}`);
}

/**
 * On the target after migrate_to: the guest must run here. Waits (bounded) only while libvirt
 * shows no definite state or monitor scripts fail; shut off or not defined fails at once.
 */
export async function migrateFrom(ctx: OcfContext): Promise<void> {
  const { domain: d, configProblem } = await findDomain(ctx);
  if (d === undefined) throw new OcfGenericError(`migrate_from: ${configProblem ?? "no domain"}`);
  const source = ctx.meta("migrate_source");
  const from = source === undefined ? "" : ` from ${source}`;
  let last = "no answer yet";
  for (;;) {
    const o = await settled(ctx, d.name, stepDeadline(ctx));
    if (isStopped(o))
      throw new OcfGenericError(
        `domain ${d.name} is not running on this node after migration${from} (${describe(o)})`,
      );
    if (o.kind === "state" && o.state.health === "failed")
      throw new OcfGenericError(`domain ${d.name} has failed after migration: ${describe(o)}`);
    if (isRunning(o)) {
      await writeRecord(ctx, d);
      const checks = await runMonitorScripts(ctx, d);
      if (checks === undefined) {
        ctx.log.info(`domain ${d.name}: live migration${from} succeeded, running here`);
        await updateUtilization(ctx, d, true);
        await saveConfig(ctx, d);
        return;
      }
      last = checks;
    } else last = describe(o);
    if (stepDeadline(ctx).remainingMs() < POLL_MS + 200)
      throw new OcfGenericError(`domain ${d.name} not confirmed running after migration: ${last}`);
    await sleep(POLL_MS, stepDeadline(ctx));
  }
}
