/** The plan spelt as a pcs script (crm-templates/pcs.sh.tmpl). Pure: plan and template in, text out. */
import { commentText, shellWord } from "./escape.js";
import { avoidConstraint, guestOps, scriptHead, stonithTimeoutNote } from "./common.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan } from "./plan.js";
import { type Fragment, fill, fragment, joinFragments, type Template } from "./template.js";

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

  for (const f of scriptHead(t, plan, source, "header")) w(f);

  w(fill(t, "devices-heading", {}));
  for (const d of plan.devices) {
    const params = d.params.map(([name, value]) =>
      fill(t, "param", { name: shellWord(name), value: shellWord(value) }),
    );
    w(
      fill(t, "device", {
        id: shellWord(d.id),
        agent: shellWord(d.agent),
        params: joinFragments(params),
        monitor: fragment(String(DEVICE_MONITOR_INTERVAL)),
        meta: d.meta.length > 0 ? fill(t, "device-meta", { pairs: pairs(d.meta) }) : fragment(""),
        budget: commentText(d.budget),
      }),
    );
    for (const f of avoidConstraint(t, d, shellWord)) w(f);
  }

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

  if (plan.guests.length > 0) w(fill(t, "guests-heading", {}));
  for (const g of plan.guests) {
    const ops = guestOps(t, g, shellWord);
    w(
      fill(t, "guest", {
        id: shellWord(g.id),
        params: joinFragments(
          g.params.map(([name, value]) =>
            fill(t, "param", { name: shellWord(name), value: shellWord(value) }),
          ),
        ),
        meta: pairs(g.meta),
        ops: joinFragments(ops, fill(t, "op-separator", {})),
      }),
    );
    if (g.utilization.length > 0)
      w(fill(t, "guest-utilization", { id: shellWord(g.id), pairs: pairs(g.utilization) }));
  }
  for (const n of plan.nodeUtilization)
    w(fill(t, "node-utilization", { node: shellWord(n.node), pairs: pairs(n.attributes) }));

  w(
    fill(t, "properties", {
      pairs: pairs(plan.properties),
      timeout_note: commentText(stonithTimeoutNote(plan)),
    }),
  );
  w(fill(t, "footer", {}));
  return joinFragments(out);
}
