/** The plan spelt as a crmsh configuration and its apply script (crm-templates/crmsh.crm.tmpl). Pure. */
import { commentText, crmshValue } from "./escape.js";
import {
  avoidConstraint,
  guestOps,
  remoteNodeName,
  scriptHead,
  stonithTimeoutNote,
} from "./common.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan } from "./plan.js";
import { type Fragment, fill, fragment, joinFragments, type Template } from "./template.js";

// Ids and agent names are validated to plain characters; crmsh takes them unquoted.
const word = (s: string): Fragment => fragment(s);

export function renderCrmsh(
  plan: Plan,
  t: Template,
  source: string,
): { config: string; apply: string } {
  const out: Fragment[] = [];
  const w = (f: Fragment): void => {
    out.push(f);
  };
  const params = (list: readonly Pair[]): Fragment =>
    joinFragments(
      list.map(([name, value]) => fill(t, "param", { name: word(name), value: crmshValue(value) })),
    );
  const pairs = (list: readonly Pair[]): Fragment =>
    joinFragments(
      list.map(([name, value]) => fill(t, "pair", { name: word(name), value: crmshValue(value) })),
    );

  for (const d of plan.devices) {
    w(
      fill(t, "device", {
        id: word(d.id),
        agent: word(d.agent),
        params: params(d.params),
        meta: d.meta.length > 0 ? fill(t, "device-meta", { pairs: pairs(d.meta) }) : fragment(""),
        monitor: fragment(String(DEVICE_MONITOR_INTERVAL)),
        budget: commentText(d.budget),
      }),
    );
    for (const f of avoidConstraint(t, d, word)) w(f);
  }
  for (const r of plan.remotes)
    w(
      fill(t, "remote", {
        id: word(r.id),
        params: params([["server", r.server], ...r.params]),
        ops: joinFragments(guestOps(t, r, word)),
      }),
    );
  for (const g of plan.guests) {
    const ops = guestOps(t, g, word);
    w(
      fill(t, "guest", {
        id: word(g.id),
        params: params(g.params),
        meta: pairs(g.meta),
        utilization:
          g.utilization.length > 0
            ? fill(t, "utilization", { pairs: pairs(g.utilization) })
            : fragment(""),
        ops: joinFragments(ops),
      }),
    );
  }
  for (const d of plan.dependencies)
    w(
      fill(t, "dependency", {
        order: word(d.orderId),
        colocation: word(d.colocationId),
        clone: word(d.clone),
        guest: word(d.guest),
      }),
    );
  for (const n of plan.nodeUtilization)
    w(
      n.remote
        ? fill(t, "remote-node-utilization", {
            node: remoteNodeName(n.node),
            pairs: pairs(n.attributes),
          })
        : fill(t, "node-utilization", { node: word(n.node), pairs: pairs(n.attributes) }),
    );
  const targets = plan.nodes
    .map((node) => {
      const levels = plan.levels.filter((l) => l.target === node).sort((a, b) => a.index - b.index);
      return levels.length === 0
        ? undefined
        : fill(t, "topology-target", {
            target: word(node),
            levels: fragment(levels.map((l) => l.devices.join(",")).join(" ")),
          });
    })
    .filter((f): f is Fragment => f !== undefined);
  if (targets.length > 0) w(fill(t, "topology", { targets: joinFragments(targets) }));
  w(
    fill(t, "properties", {
      pairs: pairs(plan.properties),
      timeout_note: commentText(stonithTimeoutNote(plan)),
    }),
  );
  if (plan.resourceDefaults.length > 0)
    w(fill(t, "resource-defaults", { pairs: pairs(plan.resourceDefaults) }));
  for (const x of [plan.managed, ...plan.waivers].filter((m) => m.ids.length > 0))
    w(fill(t, "waiver", { tag: word(x.tag), ids: fragment(x.ids.join(" ")) }));

  const apply: Fragment[] = scriptHead(t, plan, source, "apply");
  apply.push(fill(t, "apply-start", {}));
  apply.push(fill(t, "apply-footer", {}));
  return { config: joinFragments(out), apply: joinFragments(apply) };
}
