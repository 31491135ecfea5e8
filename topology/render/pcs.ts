/** The plan spelt as a pcs script (crm-templates/pcs.sh.tmpl). Pure: plan and template in, text out. */
import path from "node:path";
import { commentText, shellWord } from "./escape.js";
import {
  avoidConstraint,
  guestOps,
  remoteNodeName,
  scriptHead,
  stonithTimeoutNote,
} from "./common.js";
import { pcsScore } from "./generation.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan } from "./plan.js";
import {
  type Fragment,
  fill,
  fragment,
  joinFragments,
  sectionNames,
  type Template,
} from "./template.js";

export function renderPcs(plan: Plan, t: Template, source: string): string {
  const out: Fragment[] = [];
  const w = (f: Fragment): void => {
    out.push(f);
  };
  const pairs = (list: readonly Pair[]): Fragment =>
    joinFragments(
      list.map(([name, value]) =>
        fill(t, "pair", { name: shellWord(name), value: shellWord(value) }),
      ),
    );
  const params = (list: readonly Pair[]): Fragment =>
    joinFragments(
      list.map(([name, value]) =>
        fill(t, "param", { name: shellWord(name), value: shellWord(value) }),
      ),
    );
  const ops = (list: Fragment[]): Fragment => joinFragments(list, fill(t, "op-separator", {}));

  for (const f of scriptHead(t, plan, source, "header")) w(f);
  // An adapted template from before day 2 has no rerun section: its script stays create-only.
  if (sectionNames(t).includes("rerun"))
    w(
      fill(t, "rerun", {
        inventory: shellWord(path.resolve(source)),
        pacemaker: fragment(String(plan.pacemaker)),
      }),
    );

  w(fill(t, "devices-heading", {}));
  for (const d of plan.devices) {
    w(
      fill(t, "device", {
        id: shellWord(d.id),
        agent: shellWord(d.agent),
        params: params(d.params),
        monitor: fragment(String(DEVICE_MONITOR_INTERVAL)),
        meta: d.meta.length > 0 ? fill(t, "device-meta", { pairs: pairs(d.meta) }) : fragment(""),
        budget: commentText(d.budget),
      }),
    );
    for (const f of avoidConstraint(t, d, shellWord, {
      score: pcsScore(plan.pacemaker, "-INFINITY"),
    }))
      w(f);
  }

  // A level's node must exist for pcs: remote nodes' connections come first.
  if (plan.remotes.length > 0) w(fill(t, "remotes-heading", {}));
  for (const r of plan.remotes)
    w(
      fill(t, "remote", {
        id: shellWord(r.id),
        server: shellWord(r.server),
        params: params(r.params),
        ops: ops(guestOps(t, r, shellWord)),
      }),
    );

  w(fill(t, "levels-heading", {}));
  for (const l of plan.levels) {
    w(
      fill(t, "level", {
        index: fragment(String(l.index)),
        target: shellWord(l.target),
        devices: joinFragments(l.devices.map(shellWord), fragment(" ")),
      }),
    );
  }

  // Before any utilization: pcs 0.12 warns about utilization while placement-strategy is unset.
  w(
    fill(t, "properties", {
      pairs: pairs(plan.properties),
      timeout_note: commentText(stonithTimeoutNote(plan)),
    }),
  );

  if (plan.guests.length > 0) w(fill(t, "guests-heading", {}));
  for (const g of plan.guests) {
    w(
      fill(t, "guest", {
        id: shellWord(g.id),
        params: params(g.params),
        meta: pairs(g.meta),
        ops: ops(guestOps(t, g, shellWord)),
      }),
    );
    if (g.utilization.length > 0)
      w(fill(t, "guest-utilization", { id: shellWord(g.id), pairs: pairs(g.utilization) }));
  }
  if (plan.dependencies.length > 0) w(fill(t, "dependencies-heading", {}));
  for (const d of plan.dependencies)
    w(
      fill(t, "dependency", {
        clone: shellWord(d.clone),
        guest: shellWord(d.guest),
        order: shellWord(d.orderId),
        colocation: shellWord(d.colocationId),
        score: pcsScore(plan.pacemaker, "INFINITY"),
      }),
    );
  for (const n of plan.nodeUtilization) {
    if (n.remote) w(fill(t, "remote-node", { node: remoteNodeName(n.node) }));
    w(fill(t, "node-utilization", { node: shellWord(n.node), pairs: pairs(n.attributes) }));
  }
  if (plan.resourceDefaults.length > 0)
    w(fill(t, "resource-defaults", { pairs: pairs(plan.resourceDefaults) }));
  if (plan.waivers.length > 0) w(fill(t, "waivers-heading", {}));
  for (const x of [...plan.waivers, plan.managed].filter((m) => m.ids.length > 0))
    w(
      fill(t, "waiver", {
        tag: shellWord(x.tag),
        ids: joinFragments(x.ids.map(shellWord), fragment(" ")),
      }),
    );
  w(fill(t, "footer", {}));
  return joinFragments(out);
}
