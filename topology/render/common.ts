/** What every format's rendering shares: stable ids, the notes, the scripts' head, guest ops. */
import { commentText } from "./escape.js";
import { describeGeneration } from "./generation.js";
import type { Op, Plan, StonithDevice } from "./plan.js";
import { type Fragment, fill, fragment, type Template } from "./template.js";

/** ids of the constraints keeping each IPMI device off its node (stable; docs/templates.md). */
export function avoidId(device: string, node: string): string {
  return `${device}-avoids-${node}`;
}

/** The constraint keeping a device off the node it fences, as the format spells it (`word`). */
export function avoidConstraint(
  t: Template,
  d: StonithDevice,
  word: (s: string) => Fragment,
  more: Readonly<Record<string, Fragment>> = {},
): Fragment[] {
  if (d.avoids === undefined) return [];
  return [
    fill(t, "avoid", {
      ...more,
      constraint: word(avoidId(d.id, d.avoids)),
      device: word(d.id),
      node: word(d.avoids),
    }),
  ];
}

/** Why stonith-timeout has its value, for the comments of every format. */
export function stonithTimeoutNote(plan: Plan): string {
  const s = plan.stonithTimeout;
  if (s.worstNode === "") return `${s.seconds} s`;
  return `${s.seconds} s: the longest fencing is ${s.worstNode}'s, every level failing (${s.sum}), + 20%, rounded up to 10 s`;
}

/** How a two-node cluster's fence race is broken, one line for the scripts' heads. */
function raceNote(twoNode: NonNullable<Plan["twoNode"]>): string {
  switch (twoNode.strategy) {
    case "random":
      return `Fence race: every device waits a random delay of up to ${twoNode.delay} s (pcmk_delay_max), so both nodes rarely shoot at the same moment.`;
    case "priority":
      return `Fence race: fencing the node that runs the guests with the higher total priority waits ${twoNode.delay} s (priority-fencing-delay), so that node survives.`;
    default:
      return `Fence race: fencing ${twoNode.preferred} waits ${twoNode.delay} s (pcmk_delay_base on its IPMI device, and for its outlets on the PDU devices), so when both nodes shoot at once, ${twoNode.preferred} survives.`;
  }
}

/**
 * A script's head (`part`: pcs's "header", the apply scripts' "apply"): which cluster, from which
 * inventory, for which Pacemaker; and for a two-node cluster, what corosync.conf's quorum section
 * needs and how the fence race is broken.
 */
export function scriptHead(t: Template, plan: Plan, source: string, part: string): Fragment[] {
  const head = [
    fill(t, part, {
      cluster: commentText(plan.cluster),
      inventory: commentText(source),
      generation: commentText(describeGeneration(plan.pacemaker)),
    }),
  ];
  if (plan.twoNode !== undefined)
    head.push(fill(t, "two-node", { race: commentText(raceNote(plan.twoNode)) }));
  return head;
}

/** Operations (a guest's, a remote connection's), each as the format spells it (`word`). */
export function guestOps(
  t: Template,
  r: { readonly ops: readonly Op[] },
  word: (s: string) => Fragment,
  more: Readonly<Record<string, Fragment>> = {},
): Fragment[] {
  return r.ops.map((o) =>
    fill(t, "op", {
      ...more,
      name: word(o.name),
      interval: fragment(String(o.interval)),
      timeout: fragment(String(o.timeout)),
    }),
  );
}

/**
 * A remote node's name where it lands in XML inside a shell word, or in crmsh: the inventory
 * allows only a letter or _ and then letters, digits, ._- for it, plain in all three syntaxes.
 */
export function remoteNodeName(name: string): Fragment {
  if (!/^[A-Za-z_][A-Za-z0-9._-]*$/.test(name))
    throw new Error(`remote node name '${name}' is not a plain id`);
  return fragment(name);
}
