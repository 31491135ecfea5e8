/**
 * start: the domain created from its config file (or restored from a snapshot, or defined on a
 * copy-on-write image with backingfile), recorded before it runs, then waited for until libvirt
 * shows it running and the monitor's checks pass. A definition of the same name is kept.
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { sleep } from "../../lib/deadline.js";
import type { DomainXmlInfo } from "../../lib/libvirt/domain-xml.js";
import { imageFormat, overlayImage } from "../../lib/libvirt/images.js";
import { isRunning } from "../../lib/libvirt/observe.js";
import { type VirshResult, runVirsh, virshMessage, virshReason } from "../../lib/libvirt/virsh.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError } from "../../lib/ocf/codes.js";
import { runTool, stepDeadline } from "../../lib/ocf/toolbox.js";
import { setAsideDefinition } from "./definition.js";
import { type Domain, configuredDomain, writeRecord } from "./domain.js";
import { POLL_MS, observe, reason, run, session, settled } from "./libvirt.js";
import { runMonitorScripts } from "./monitor.js";
import { given, hypervisor, text, words } from "./parameters.js";
import { updateUtilization } from "./utilization.js";

/** A virsh call that starts the domain succeeded, or failed while the domain runs all the same. */
async function startedAnyway(ctx: OcfContext, d: Domain, r: VirshResult): Promise<boolean> {
  return r.code === 0 || isRunning(await observe(ctx, d.name));
}

export async function start(ctx: OcfContext): Promise<void> {
  const d = await configuredDomain(ctx);
  const first = await settled(ctx, d.name, stepDeadline(ctx, 10_000));
  if (first.kind === "error") throw new OcfGenericError(first.reason);
  if (first.kind === "state") {
    if (first.state.health === "running") {
      await writeRecord(ctx, d);
      ctx.log.info(`domain ${d.name} already running`);
      return;
    }
    if (first.state.health === "failed")
      throw new OcfGenericError(
        `domain ${d.name} is ${first.state.state} (${first.state.reason}): stop it before starting it`,
      );
    // Defined but shut off: the admin's persistent definition is kept (unlike the reference,
    // which undefines it). With the same UUID, `virsh create` runs the file's XML as the live
    // configuration and libvirt keeps the persistent one for after the stop.
    // (backingfile: the domain is defined from the file anyway, as the reference does.)
    if (first.state.health === "stopped" && !given(ctx, "backingfile"))
      await setAsideDefinition(ctx, d);
  }
  if (ctx.params.flag("start_resources") && d.xml !== undefined)
    await startResources(ctx, d.xml, undefined);
  // Recorded before it runs: a stop or probe must find it even if this process dies right after.
  await writeRecord(ctx, d);
  const state = await savedState(ctx, d);
  if (state !== undefined) {
    const r = await run(ctx, ["restore", state]);
    if (!(await startedAnyway(ctx, d, r)))
      throw new OcfGenericError(
        `failed to restore domain ${d.name} from ${state}: ${reason(ctx, r)}`,
      );
    await fs.rm(state, { force: true });
    ctx.log.info(`domain ${d.name} restored from ${state}`);
  } else if (given(ctx, "backingfile")) {
    await startFromBackingFile(ctx, d);
  } else {
    const r = await run(ctx, ["create", text(ctx, "config")]);
    if (!(await startedAnyway(ctx, d, r)))
      throw new OcfGenericError(`failed to start domain ${d.name}: ${reason(ctx, r)}`);
    if (r.code !== 0)
      ctx.log.warning(`virsh create failed (${virshMessage(r)}) but domain ${d.name} runs`);
    ctx.log.info(`domain ${d.name} created from ${text(ctx, "config")}`);
  }
  await waitRunning(ctx, d);
}

/** Until libvirt shows the domain running and the monitor's checks pass, as monitor would see it. */
async function waitRunning(ctx: OcfContext, d: Domain): Promise<void> {
  let last = "no answer yet";
  for (;;) {
    const o = await observe(ctx, d.name);
    if (isRunning(o)) {
      const checks = await runMonitorScripts(ctx, d);
      if (checks === undefined) {
        await updateUtilization(ctx, d, true);
        return;
      }
      last = checks;
    } else if (o.kind === "state" && o.state.health === "failed") {
      throw new OcfGenericError(
        `domain ${d.name} failed while starting: ${o.state.state} (${o.state.reason})`,
      );
    } else if (o.kind === "gone") {
      throw new OcfGenericError(
        `domain ${d.name} disappeared while starting (see libvirt's log for the domain)`,
      );
    } else last = o.kind === "state" ? `state ${o.state.state}` : o.reason;
    if (stepDeadline(ctx).remainingMs() < POLL_MS + 200)
      throw new OcfGenericError(
        `domain ${d.name} created but not confirmed running in time: ${last}`,
      );
    await sleep(POLL_MS, stepDeadline(ctx));
  }
}

/**
 * start_resources: the storage pools and virtual networks the domain uses, started where they are
 * not active: on this node's hypervisor, or on `remoteUri` (the target's, before a migration).
 */
export async function startResources(
  ctx: OcfContext,
  xml: DomainXmlInfo,
  remoteUri: string | undefined,
): Promise<void> {
  const uri = remoteUri ?? hypervisor(ctx);
  const on = (args: readonly string[]) =>
    runVirsh(session(ctx), args, stepDeadline(ctx, 20_000), uri);
  const why = (r: VirshResult) => virshReason(r, uri);
  const where = remoteUri === undefined ? "" : ` on ${remoteUri}`;
  const needed = (what: string) => `${what} required by domain ${xml.name}${where}`;
  for (const pool of xml.pools) {
    const info = await on(["pool-info", pool]);
    if (info.code !== 0)
      throw new OcfGenericError(`${needed(`storage pool ${pool}`)}: ${why(info)}`);
    if (/^State:\s+running\s*$/m.test(info.stdout)) {
      const r = await on(["pool-refresh", pool]);
      if (r.code !== 0)
        ctx.log.warning(`refresh of storage pool ${pool}${where}: virsh pool-refresh: ${why(r)}`);
      continue;
    }
    const r = await on(["pool-start", pool]);
    if (r.code !== 0)
      throw new OcfGenericError(`failed to start ${needed(`storage pool ${pool}`)}: ${why(r)}`);
    ctx.log.info(`started storage pool ${pool}${where} for domain ${xml.name}`);
  }
  for (const net of xml.networks) {
    const info = await on(["net-info", net]);
    if (info.code !== 0)
      throw new OcfGenericError(`${needed(`virtual network ${net}`)}: ${why(info)}`);
    if (/^Active:\s+yes\s*$/m.test(info.stdout)) continue;
    const r = await on(["net-start", net]);
    if (r.code !== 0)
      throw new OcfGenericError(`failed to start ${needed(`virtual network ${net}`)}: ${why(r)}`);
    ctx.log.info(`started virtual network ${net}${where} for domain ${xml.name}`);
  }
}

/**
 * backingfile (the reference's copy-on-write mode): the qcow2 image on the backing file, created
 * when missing or empty, or always with stateless; then virsh define CONFIG and virsh start NAME.
 */
async function startFromBackingFile(ctx: OcfContext, d: Domain): Promise<void> {
  const config = text(ctx, "config");
  const backing = text(ctx, "backingfile");
  const image = overlayImage(config);
  let size = 0;
  try {
    size = (await fs.stat(image)).size;
  } catch {
    size = 0;
  }
  const fresh = ctx.params.flag("stateless") || size === 0;
  if (fresh) {
    const info = await runTool(
      ctx,
      "qemu-img",
      ["info", "--output=json", "-U", backing],
      stepDeadline(ctx, 30_000),
    );
    const format = info.why === undefined ? imageFormat(info.stdout) : undefined;
    if (format === undefined)
      throw new OcfGenericError(
        `cannot read the format of backing file ${backing}: ${info.why ?? "qemu-img info gave none"}`,
      );
    const made = await runTool(
      ctx,
      "qemu-img",
      ["create", "-q", "-f", "qcow2", "-F", format, "-b", backing, image],
      stepDeadline(ctx, 60_000),
    );
    if (made.why !== undefined)
      throw new OcfGenericError(
        `failed to create ${image} on backing file ${backing}: ${made.why}`,
      );
    ctx.log.info(
      `created ${image} on backing file ${backing} (${format})${ctx.params.flag("stateless") ? ", stateless" : ""}`,
    );
  }
  const def = await run(ctx, ["define", config], stepDeadline(ctx, 20_000));
  if (def.code !== 0)
    throw new OcfGenericError(
      `failed to define domain ${d.name} from ${config}: ${reason(ctx, def)}`,
    );
  const copyin = words(ctx, "copyindirs");
  if (fresh && copyin.length > 0) {
    const h = hypervisor(ctx);
    const c = await runTool(
      ctx,
      "virt-copy-in",
      ["-d", d.name, ...(h === undefined ? [] : ["-c", h]), ...copyin, "/"],
      stepDeadline(ctx, Math.max(stepDeadline(ctx).remainingMs() - 10_000, 1000)),
    );
    if (c.why !== undefined)
      throw new OcfGenericError(
        `failed to copy ${copyin.join(" ")} into domain ${d.name}'s image: virt-copy-in ${c.why}`,
      );
    ctx.log.info(`copied ${copyin.join(" ")} into domain ${d.name}'s image`);
  }
  const r = await run(ctx, ["start", d.name]);
  if (!(await startedAnyway(ctx, d, r)))
    throw new OcfGenericError(`failed to start domain ${d.name}: ${reason(ctx, r)}`);
  ctx.log.info(`domain ${d.name} defined from ${config} and started on ${image}`);
}

/** snapshot: the state file of this domain, when there is one to restore. */
async function savedState(ctx: OcfContext, d: Domain): Promise<string | undefined> {
  if (!given(ctx, "snapshot")) return undefined;
  const file = join(text(ctx, "snapshot"), `${d.name}.state`);
  try {
    await fs.access(file);
    return file;
  } catch {
    return undefined;
  }
}
