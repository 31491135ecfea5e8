/**
 * validate-all, and the checks before start: parameter combinations, the programs they need, the
 * config file and its emulator; at OCF_CHECK_LEVEL 10 also the hypervisor and libvirt's disk lock
 * manager. stop and monitor skip it: they find the domain themselves and never give up on a guest
 * libvirt shows running.
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { constants as fsConstants, promises as fs } from "node:fs";
import { diskLockManager, qemuConfPath } from "../../lib/libvirt/qemu-conf.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { OcfGenericError, OcfNotConfigured, OcfNotInstalled } from "../../lib/ocf/codes.js";
import { haveBinary, stepDeadline } from "../../lib/ocf/toolbox.js";
import { definedHere } from "./definition.js";
import { type Domain, configuredDomain, isQemu } from "./domain.js";
import { reason, run } from "./libvirt.js";
import { given, hypervisor, text, words } from "./parameters.js";

/** A program a parameter needs, on the agent's PATH, or OCF_ERR_INSTALLED naming both. */
function need(ctx: OcfContext, program: string, why: string): void {
  if (!haveBinary(program, ctx.childEnv().PATH))
    throw new OcfNotInstalled(`${program}: required binary not installed (${why})`);
}

export async function validate(ctx: OcfContext): Promise<void> {
  // The runner would map a failure here to "stopped" for stop and probes (lib/ocf/run.ts).
  if (ctx.action !== "start" && ctx.action !== "validate-all") return;
  if (ctx.params.flag("force_stop") && given(ctx, "snapshot"))
    throw new OcfNotConfigured("the 'force_stop' and 'snapshot' options cannot be used together");
  if (ctx.params.flag("stateless") && !given(ctx, "backingfile"))
    throw new OcfNotConfigured("stateless needs a backing file (backingfile)");
  const copyin = words(ctx, "copyindirs").length > 0;
  // The reference ignores it then; so does this agent, but says so.
  if (copyin && !given(ctx, "backingfile"))
    ctx.log.warning("copyindirs is ignored without backingfile (it copies into a fresh image)");
  if (ctx.params.flag("sync_config_on_stop")) need(ctx, "csync2", "sync_config_on_stop");
  if (given(ctx, "backingfile")) {
    const backing = text(ctx, "backingfile");
    need(ctx, "qemu-img", "backingfile");
    if (copyin) need(ctx, "virt-copy-in", "copyindirs; Debian package libguestfs-tools");
    try {
      await fs.access(backing, fsConstants.R_OK);
    } catch (err) {
      throw new OcfNotInstalled(
        `backing file ${backing} does not exist or is not readable (${(err as NodeJS.ErrnoException).code ?? "?"})`,
      );
    }
  }
  const mode = text(ctx, "shutdown_mode");
  if (mode !== "" && !/^[a-z]+(,[a-z]+)*$/.test(mode))
    throw new OcfNotConfigured(`shutdown_mode '${mode}' is not a list of virsh shutdown modes`);
  const d = await configuredDomain(ctx);
  await checkEmulator(d);
  if (ctx.action === "validate-all" && ctx.checkLevel >= 10) await checkEnvironment(ctx, d);
}

/** The config's <emulator> must exist and be executable here (cheap: start checks it too). */
async function checkEmulator(d: Domain): Promise<void> {
  const emulator = d.xml?.emulator;
  if (emulator === undefined) return;
  try {
    await fs.access(emulator, fsConstants.X_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    throw new OcfNotInstalled(
      `emulator ${emulator} of domain ${d.name} is ${code === "ENOENT" ? "missing" : `not executable (${code})`} on this node`,
    );
  }
}

/**
 * validate-all at OCF_CHECK_LEVEL 10: the hypervisor answers (bounded), and for a local QEMU
 * driver, whether libvirt's lock manager protects the disks (a warning only: many clusters rely
 * on fencing alone). qemu.conf is read in this mount namespace, the one libvirtd runs in.
 */
async function checkEnvironment(ctx: OcfContext, d: Domain): Promise<void> {
  const r = await run(ctx, ["uri"], stepDeadline(ctx, 10_000));
  if (r.code !== 0)
    throw new OcfGenericError(
      `hypervisor ${hypervisor(ctx) ?? "(virsh's default)"} not reachable: ${reason(ctx, r)}`,
    );
  const effective = r.stdout.trim();
  ctx.log.debug(`hypervisor ${effective} answers`);
  // The classic advice: definitions on shared storage only, undefined on every node (kvmha check
  // --probe --libvirt-uri asks every node the same).
  const here = await definedHere(ctx, d);
  if (here.autostart)
    ctx.log.warning(
      `domain ${d.name} is defined here with autostart on: libvirtd starts it at boot behind Pacemaker's back (start turns it off)`,
    );
  else if (here.persistent)
    ctx.log.warning(
      `domain ${d.name} is defined persistently here: virsh start or virt-manager on this node can start a second copy beside the cluster's (virsh undefine ${d.name}: the cluster starts it from its config file)`,
    );
  if (!isQemu(d)) return;
  const conf = qemuConfPath(effective, ctx.childEnv());
  if (conf === undefined) {
    ctx.log.info(
      `hypervisor ${effective} is not a local QEMU driver: its lock manager is not checked`,
    );
    return;
  }
  let conffile = "";
  try {
    conffile = await fs.readFile(conf, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "";
    if (code !== "ENOENT") {
      ctx.log.warning(`cannot read ${conf} (${code}): libvirt's lock manager is not checked`);
      return;
    }
  }
  const lm = diskLockManager(conffile);
  if (lm === undefined)
    ctx.log.warning(
      `libvirt has no lock manager protecting the disks of domain ${d.name} (lock_manager is not "lockd" or "sanlock" in ${conf}): nothing but fencing stops a second node from running it on the same disks`,
    );
  else ctx.log.debug(`libvirt lock manager: ${lm} (${conf})`);
}
