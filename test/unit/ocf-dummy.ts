/**
 * The example resource agent the OCF framework's tests run (in-process, and as a program under
 * ocf-tester): like resource-agents' Dummy, it only records whether it runs, in a state file under
 * HA_RSCTMP. It is also the shape of a real agent: a declaration and one callback per action.
 *
 *   node --import tsx test/unit/ocf-dummy.ts ACTION      (what the ocf-tester wrapper runs)
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { sleep } from "../../lib/deadline.js";
import type { OcfAgent, OcfContext } from "../../lib/ocf/agent.js";
import { OcfExit, OcfNotConfigured } from "../../lib/ocf/codes.js";
import { runOcfAgent } from "../../lib/ocf/run.js";
import { stateFile, writeFileAtomic } from "../../lib/ocf/toolbox.js";

/** The `state` parameter, else HA_RSCTMP/Dummy-<instance>.state (lib/ocf/toolbox.ts). */
function stateOf(ctx: OcfContext): string {
  return ctx.params.string("state") ?? stateFile(ctx, "state");
}

function running(ctx: OcfContext): boolean {
  return existsSync(stateOf(ctx));
}

async function start(ctx: OcfContext): Promise<void> {
  await sleep(ctx.params.ms("op_sleep") ?? 0);
  if (running(ctx)) return;
  await writeFileAtomic(stateOf(ctx), `${ctx.instance}\n`, { dirMode: 0o755 });
  ctx.log.info(`started ${ctx.instance}`);
}

async function stop(ctx: OcfContext): Promise<void> {
  await rm(stateOf(ctx), { force: true });
}

export const dummy: OcfAgent = {
  name: "Dummy",
  version: "1.0",
  shortdesc: "Example resource agent that only records whether it runs",
  longdesc:
    "Records in a state file whether it is running; for testing the OCF framework and as a template.",
  parameters: [
    {
      name: "state",
      type: "string",
      unique: true,
      shortdesc: "State file",
      longdesc: "Where the state is kept (default: HA_RSCTMP/Dummy-<instance>.state).",
    },
    {
      name: "fake",
      type: "string",
      default: "dummy",
      reloadable: true,
      shortdesc: "Fake attribute",
      longdesc: "Changes nothing; present to be changed.",
    },
    {
      name: "op_sleep",
      type: "time",
      default: "0",
      shortdesc: "Delay of start",
      longdesc: "How long start takes, to test op timeouts.",
    },
    {
      name: "passwd",
      type: "string",
      secret: true,
      shortdesc: "A secret",
      longdesc: "Never logged.",
    },
    {
      name: "fail_validate",
      type: "boolean",
      default: "false",
      shortdesc: "Fail validation",
      longdesc: "Makes validation fail, to test how each action maps it.",
    },
  ],
  actions: {
    start: { timeout: "20s", run: start },
    stop: { timeout: "20s", run: stop },
    monitor: {
      timeout: "20s",
      interval: "10s",
      depth: 0,
      run: (ctx) => Promise.resolve(running(ctx) ? OcfExit.SUCCESS : OcfExit.NOT_RUNNING),
    },
    migrate_to: { timeout: "20s", run: stop },
    migrate_from: { timeout: "20s", run: start },
  },
  validate: (ctx) => {
    if (ctx.params.flag("fail_validate"))
      throw new OcfNotConfigured(`validation refused, passwd=${ctx.params.secret("passwd") ?? ""}`);
  },
};

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  // Exit at once, as lib/cli/entry.ts does: an action cut off at its deadline may still be pending.
  process.exit(await runOcfAgent(dummy, process.argv.slice(2), process.env));
}
