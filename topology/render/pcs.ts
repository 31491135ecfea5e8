/** The plan spelt as a pcs script (crm-templates/pcs.sh.tmpl). Pure: plan and template in, text out. */
import { commentText, shellWord } from "./escape.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan } from "./plan.js";
import { type Fragment, fill, fragment, joinFragments, type Template } from "./template.js";

/** ids of the constraints keeping each IPMI device off its node (stable; docs/templates.md). */
export function avoidId(device: string, node: string): string {
  return `${device}-avoids-${node}`;
}

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

  w(fill(t, "header", { cluster: commentText(plan.cluster), inventory: commentText(source) }));
  if (plan.twoNode !== undefined)
    w(
      fill(t, "two-node", {
        preferred: commentText(plan.twoNode.preferred),
        delay: fragment(String(plan.twoNode.delay)),
      }),
    );

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
    if (d.avoids !== undefined)
      w(
        fill(t, "avoid", {
          constraint: shellWord(avoidId(d.id, d.avoids)),
          device: shellWord(d.id),
          node: shellWord(d.avoids),
        }),
      );
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
    const ops = g.ops.map((o) =>
      fill(t, "op", {
        name: shellWord(o.name),
        interval: fragment(String(o.interval)),
        timeout: fragment(String(o.timeout)),
      }),
    );
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

/** Why stonith-timeout has its value, for the comments of every format. */
export function stonithTimeoutNote(plan: Plan): string {
  const s = plan.stonithTimeout;
  if (s.worstNode === "") return `${s.seconds} s`;
  return `${s.seconds} s: the longest fencing is ${s.worstNode}'s, every level failing (${s.sum}), + 20%, rounded up to 10 s`;
}
