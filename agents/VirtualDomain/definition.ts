/**
 * The admin's persistent definition of the domain: start keeps it (unlike the reference agent,
 * which undefines it) and turns its autostart off; one with another UUID than the config file is
 * set aside in HA_VARLIB and defined again after stop.
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { promises as fs } from "node:fs";
import { join } from "node:path";
import { messageOf } from "../../lib/errors.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError } from "../../lib/ocf/codes.js";
import { stepDeadline, writeFileAtomic } from "../../lib/ocf/toolbox.js";
import type { Domain } from "./domain.js";
import { failed, run } from "./libvirt.js";
import { text } from "./parameters.js";

/** Where start keeps a persistent definition it had to undefine, until stop defines it again. */
function definitionBackup(ctx: OcfContext): string {
  return join(ctx.varLib, "VirtualDomain", `${ctx.instance}.persistent.xml`);
}

/**
 * A defined, shut-off domain of the config's name. Same UUID as the config: nothing to do, create
 * keeps the definition. Otherwise create would refuse ("already exists with uuid"): the persistent
 * definition is saved to HA_VARLIB (which survives a reboot) and undefined; stop defines it again.
 */
export async function setAsideDefinition(ctx: OcfContext, d: Domain): Promise<void> {
  const u = await run(ctx, ["domuuid", d.name], stepDeadline(ctx, 10_000));
  const defined = u.code === 0 ? u.stdout.trim().toLowerCase() : undefined;
  if (defined !== undefined && d.uuid !== undefined && defined === d.uuid) {
    ctx.log.info(
      `domain ${d.name} is defined here with the config's UUID: it runs from ${text(ctx, "config")}, its persistent definition stays`,
    );
    await noAutostart(ctx, d);
    return;
  }
  const x = await run(
    ctx,
    ["dumpxml", "--inactive", "--security-info", d.name],
    stepDeadline(ctx, 10_000),
  );
  if (x.code !== 0 || x.stdout.trim() === "")
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID and its definition cannot be saved: ${failed(ctx, x, "dumpxml")}`,
    );
  const file = definitionBackup(ctx);
  try {
    await writeFileAtomic(file, x.stdout, { mode: 0o600, dirMode: 0o700 });
  } catch (err) {
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID; cannot save its definition to ${file} (${messageOf(err)}): not undefining it`,
    );
  }
  const r = await run(ctx, ["undefine", d.name]);
  if (r.code !== 0)
    throw new OcfGenericError(
      `domain ${d.name} is defined here with another UUID and cannot be undefined: ${failed(ctx, r, "undefine")}`,
    );
  ctx.log.warning(
    `domain ${d.name} was defined here (UUID ${defined ?? "?"}) with another UUID than ${text(ctx, "config")}: its definition is saved in ${file} and is defined again on stop`,
  );
}

/** After a successful stop: the persistent definition start set aside, defined again. */
export async function restoreDefinition(ctx: OcfContext): Promise<void> {
  const file = definitionBackup(ctx);
  try {
    await fs.access(file);
  } catch {
    return;
  }
  const r = await run(ctx, ["define", file], stepDeadline(ctx, 10_000));
  if (r.code !== 0) {
    ctx.log.warning(
      `cannot define again the persistent definition saved in ${file}: ${failed(ctx, r, "define")}; it stays there`,
    );
    return;
  }
  await fs.rm(file, { force: true });
  ctx.log.info(`persistent definition saved at start defined again from ${file}`);
}

/** `virsh dominfo` says the domain starts with libvirtd. */
export async function autostarts(ctx: OcfContext, d: Domain): Promise<boolean> {
  return (await definedHere(ctx, d)).autostart;
}

/** What `virsh dominfo` says of the domain's definition on this node (both false: none). */
export async function definedHere(
  ctx: OcfContext,
  d: Domain,
): Promise<{ persistent: boolean; autostart: boolean }> {
  const info = await run(ctx, ["dominfo", d.name], stepDeadline(ctx, 10_000));
  if (info.code !== 0) return { persistent: false, autostart: false };
  return {
    persistent: /^Persistent:\s+yes/m.test(info.stdout),
    autostart: /^Autostart:\s+enable/m.test(info.stdout),
  };
}

/**
 * A definition the cluster keeps must not autostart: libvirtd would start the guest at boot (or
 * its restart) behind Pacemaker's back, maybe while it runs on another node. The reference never
 * met this: it undefined the domain. Turned off, with a warning.
 */
async function noAutostart(ctx: OcfContext, d: Domain): Promise<void> {
  if (!(await autostarts(ctx, d))) return;
  const r = await run(ctx, ["autostart", "--disable", d.name], stepDeadline(ctx, 10_000));
  if (r.code === 0)
    ctx.log.warning(
      `domain ${d.name} was set to autostart: turned off (Pacemaker starts it; libvirtd must not)`,
    );
  else
    ctx.log.warning(
      `domain ${d.name} is set to autostart and it cannot be turned off: ${failed(ctx, r, "autostart")}; libvirtd may start it behind Pacemaker's back`,
    );
}
