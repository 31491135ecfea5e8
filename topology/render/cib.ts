/** The plan spelt as a CIB XML fragment and its apply script (crm-templates/cib.xml.tmpl). Pure. */
import { shellWord, xmlCommentText, xmlValue } from "./escape.js";
import { describeGeneration } from "./generation.js";
import {
  avoidConstraint,
  guestOps,
  remoteNodeName,
  scriptHead,
  stonithTimeoutNote,
} from "./common.js";
import { DEVICE_MONITOR_INTERVAL, type Pair, type Plan } from "./plan.js";
import { type Fragment, fill, fragment, joinFragments, type Template } from "./template.js";

export function renderCib(plan: Plan, t: Template, source: string): { xml: string; apply: string } {
  const out: Fragment[] = [];
  const w = (f: Fragment): void => {
    out.push(f);
  };
  const nvpairs = (set: string, list: readonly Pair[]): Fragment =>
    joinFragments(
      list.map(([name, value]) =>
        fill(t, "nvpair", { set: xmlValue(set), name: xmlValue(name), value: xmlValue(value) }),
      ),
    );

  const properties = joinFragments(
    plan.properties.map(([name, value]) =>
      fill(t, "property", { name: xmlValue(name), value: xmlValue(value) }),
    ),
  );
  const remoteNodes = plan.nodeUtilization
    .filter((n) => n.remote)
    .map((n) => {
      const node = remoteNodeName(n.node);
      return fill(t, "remote-node", {
        node,
        pairs: joinFragments(
          n.attributes.map(([name, value]) =>
            fill(t, "remote-node-pair", { node, name: xmlValue(name), value: xmlValue(value) }),
          ),
        ),
      });
    });
  w(
    fill(t, "header", {
      cluster: xmlCommentText(plan.cluster),
      inventory: xmlCommentText(source),
      generation: xmlCommentText(describeGeneration(plan.pacemaker)),
      timeout_note: xmlCommentText(stonithTimeoutNote(plan)),
      properties,
      defaults:
        plan.resourceDefaults.length > 0
          ? fill(t, "resource-defaults", {
              pairs: nvpairs("rsc-options", plan.resourceDefaults),
            })
          : fragment(""),
      nodes:
        remoteNodes.length > 0
          ? fill(t, "remote-nodes", { nodes: joinFragments(remoteNodes) })
          : fragment(""),
    }),
  );
  for (const d of plan.devices) {
    w(
      fill(t, "device", {
        id: xmlValue(d.id),
        agent: xmlValue(d.agent),
        params: nvpairs(`${d.id}-instance_attributes`, d.params),
        meta:
          d.meta.length > 0
            ? fill(t, "device-meta", {
                id: xmlValue(d.id),
                pairs: nvpairs(`${d.id}-meta_attributes`, d.meta),
              })
            : fragment(""),
        monitor: fragment(String(DEVICE_MONITOR_INTERVAL)),
        budget: xmlCommentText(`${d.id}: timeouts from ${d.budget}`),
      }),
    );
  }
  for (const r of plan.remotes)
    w(
      fill(t, "remote", {
        id: xmlValue(r.id),
        params: nvpairs(`${r.id}-instance_attributes`, [["server", r.server], ...r.params]),
        ops: joinFragments(guestOps(t, r, xmlValue, { id: xmlValue(r.id) })),
      }),
    );
  for (const g of plan.guests) {
    const ops = guestOps(t, g, xmlValue, { id: xmlValue(g.id) });
    w(
      fill(t, "guest", {
        id: xmlValue(g.id),
        params: nvpairs(`${g.id}-instance_attributes`, g.params),
        meta: nvpairs(`${g.id}-meta_attributes`, g.meta),
        utilization:
          g.utilization.length > 0
            ? fill(t, "utilization", {
                id: xmlValue(g.id),
                pairs: nvpairs(`${g.id}-utilization`, g.utilization),
              })
            : fragment(""),
        ops: joinFragments(ops),
      }),
    );
  }
  w(fill(t, "constraints", {}));
  for (const d of plan.devices) {
    for (const f of avoidConstraint(t, d, xmlValue)) w(f);
  }
  for (const d of plan.dependencies)
    w(
      fill(t, "dependency", {
        order: xmlValue(d.orderId),
        colocation: xmlValue(d.colocationId),
        clone: xmlValue(d.clone),
        guest: xmlValue(d.guest),
      }),
    );
  w(fill(t, "topology", {}));
  for (const l of plan.levels)
    w(
      fill(t, "level", {
        target: xmlValue(l.target),
        index: fragment(String(l.index)),
        devices: xmlValue(l.devices.join(",")),
      }),
    );
  const tags = [plan.managed, ...plan.waivers]
    .filter((x) => x.ids.length > 0)
    .map((x) =>
      fill(t, "tag", {
        tag: xmlValue(x.tag),
        refs: joinFragments(x.ids.map((id) => fill(t, "tag-ref", { id: xmlValue(id) }))),
      }),
    );
  w(
    fill(t, "footer", {
      tags: tags.length > 0 ? fill(t, "tags", { tags: joinFragments(tags) }) : fragment(""),
    }),
  );

  const apply: Fragment[] = scriptHead(t, plan, source, "apply");
  apply.push(fill(t, "apply-start", {}));
  for (const n of plan.nodeUtilization.filter((x) => !x.remote)) {
    for (const [name, value] of n.attributes)
      apply.push(
        fill(t, "apply-node-utilization", {
          node: shellWord(n.node),
          name: shellWord(name),
          value: shellWord(value),
        }),
      );
  }
  apply.push(fill(t, "apply-footer", {}));
  return { xml: joinFragments(out), apply: joinFragments(apply) };
}
