/**
 * save_config_on_stop / sync_config_on_stop: the running domain's configuration written back into
 * its config file when it differs (then `csync2 -x`), on stop, before migrating away and after
 * migrating here.
 */
// fs.promises is read at each use, not imported from node:fs/promises (startup snapshot, docs/build.md).
import { promises as fs } from "node:fs";
import { messageOf } from "../../lib/errors.js";
import {
  type DomainXmlInfo,
  parseDomainXml,
  withoutRuntimeId,
} from "../../lib/libvirt/domain-xml.js";
import type { OcfContext } from "../../lib/ocf/agent.js";
import { runTool, stepDeadline, writeFileAtomic } from "../../lib/ocf/toolbox.js";
import type { Domain } from "./domain.js";
import { failed, run } from "./libvirt.js";
import { text } from "./parameters.js";

/** The most csync2 may take. */
const CSYNC2_MS = 30_000;

/**
 * Only over a file that is there: with the file gone (shared storage not mounted) nothing is
 * written where the mount point would be. Every failure is a warning: the action itself goes on.
 */
export async function saveConfig(ctx: OcfContext, d: Domain): Promise<void> {
  const sync = ctx.params.flag("sync_config_on_stop");
  if (!sync && !ctx.params.flag("save_config_on_stop")) return;
  const path = text(ctx, "config");
  if (d.source !== "config") {
    ctx.log.warning(
      `configuration file ${path} is not readable: domain ${d.name}'s configuration is not saved`,
    );
    return;
  }
  // The running configuration in its migratable form (no runtime ids or aliases); not --inactive,
  // which for a domain whose persistent definition start kept would be that definition.
  const r = await run(
    ctx,
    ["dumpxml", "--migratable", "--security-info", d.name],
    stepDeadline(ctx, 10_000),
  );
  const xml = withoutRuntimeId(r.stdout);
  if (r.code !== 0 || xml.trim() === "") {
    ctx.log.warning(
      `cannot save domain ${d.name}'s configuration: ${r.code === 0 ? "empty dump" : failed(ctx, r, "dumpxml")}`,
    );
    return;
  }
  let dumped: DomainXmlInfo;
  try {
    dumped = await parseDomainXml(xml);
  } catch (err) {
    ctx.log.warning(
      `domain ${d.name}'s dumped configuration does not parse (${messageOf(err)}): not saved`,
    );
    return;
  }
  if (dumped.name !== d.name || (d.uuid !== undefined && dumped.uuid !== d.uuid)) {
    ctx.log.warning(
      `domain ${d.name}'s dumped configuration names ${dumped.name} ${dumped.uuid ?? ""}: not saved`,
    );
    return;
  }
  let old: string | undefined;
  let mode = 0o600;
  try {
    old = await fs.readFile(path, "utf8");
    mode = (await fs.stat(path)).mode & 0o7777;
  } catch {
    old = undefined;
  }
  if (old === xml) {
    ctx.log.debug(`domain ${d.name}'s configuration is unchanged in ${path}`);
    return;
  }
  try {
    await writeFileAtomic(path, xml, { mode });
  } catch (err) {
    ctx.log.warning(`cannot save domain ${d.name}'s configuration to ${path}: ${messageOf(err)}`);
    return;
  }
  ctx.log.info(
    `saved domain ${d.name}'s configuration to ${path}${sync ? "" : " (make sure every node sees it, or set sync_config_on_stop)"}`,
  );
  if (!sync) return;
  const synced = await runTool(ctx, "csync2", ["-x", path], stepDeadline(ctx, CSYNC2_MS));
  if (synced.why === undefined) ctx.log.info(`synced ${path} with csync2 -x`);
  else ctx.log.warning(`csync2 -x ${path} failed: ${synced.why}`);
}
